package telemetry

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one (x, y) sample of a curve.
type Point struct{ X, Y float64 }

// LineSVG draws a line chart of the curves (name → points, drawn in order)
// as an SVG document (fonts embedded by gonum/plot; no network needed).
func LineSVG(title, xlabel, ylabel string, names []string, curves [][]Point, width, height vg.Length) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	for i, pts := range curves {
		if len(pts) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(pts))
		for j, pt := range pts {
			xy[j].X, xy[j].Y = pt.X, pt.Y
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", names[i], err)
		}
		l.Color = plotColors[i%len(plotColors)]
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(names[i], l)
	}
	p.Legend.Top = true
	c := vgsvg.New(width, height)
	p.Draw(drawCanvas(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
