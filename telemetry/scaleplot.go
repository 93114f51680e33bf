package telemetry

import (
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Scaling charts are ScalingWidth × ScalingHeight pixels.
const (
	ScalingWidth  = 800
	ScalingHeight = 500
	scalingDPI    = 96
)

// idealColor draws the ideal-scaling line (dashed).
func idealColor() color.Color { return color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} }

// ScalingChart is a quantity measured at several world sizes, as `ringtrain
// scale` draws it: one x tick per measured world size (whole numbers), the
// y axis from 0, and, when Ideal is set, the ideal-scaling line dashed
// beside the measured one.
type ScalingChart struct {
	Title, YLabel string
	// Points: X is the number of workers, Y the measured value.
	Points []Point
	// Ideal, optional: what perfect scaling would give at the same X.
	Ideal []Point
}

// WritePNG draws the chart into path as a PNG.
func (c ScalingChart) WritePNG(path string) error {
	p, err := c.plot()
	if err != nil {
		return err
	}
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / scalingDPI }
	img := vgimg.NewWith(vgimg.UseWH(px(ScalingWidth), px(ScalingHeight)), vgimg.UseDPI(scalingDPI))
	p.Draw(draw.New(img))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot %s: %w", c.Title, err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", c.Title, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot %s: %w", c.Title, err)
	}
	return nil
}

func (c ScalingChart) plot() (*plot.Plot, error) {
	if len(c.Points) == 0 {
		return nil, fmt.Errorf("plot %s: no points", c.Title)
	}
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = "workers"
	p.Y.Label.Text = c.YLabel
	p.Title.TextStyle.Font.Size = vg.Points(15)
	p.Title.Padding = vg.Points(8)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(12)
		ax.Tick.Label.Font.Size = vg.Points(11)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.Add(plotter.NewGrid())
	var ticks []plot.Tick
	for _, pt := range c.Points {
		if pt.X != float64(int(pt.X)) {
			return nil, fmt.Errorf("plot %s: %v workers is not a whole number", c.Title, pt.X)
		}
		ticks = append(ticks, plot.Tick{Value: pt.X, Label: strconv.Itoa(int(pt.X))})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)
	if len(c.Ideal) > 0 {
		l, err := plotter.NewLine(xys(c.Ideal))
		if err != nil {
			return nil, fmt.Errorf("plot %s: ideal: %w", c.Title, err)
		}
		l.Color = idealColor()
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add("ideal", l)
	}
	l, s, err := plotter.NewLinePoints(xys(c.Points))
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", c.Title, err)
	}
	l.Color, s.Color = plotColors[0], plotColors[0]
	l.Width = vg.Points(2)
	s.Radius = vg.Points(3)
	p.Add(l, s)
	p.Legend.Add("measured", l, s)
	lo, hi := c.Points[0].X, c.Points[0].X
	for _, pt := range c.Points {
		lo, hi = min(lo, pt.X), max(hi, pt.X)
	}
	pad := max(0.04*(hi-lo), 0.25)
	p.X.Min, p.X.Max = lo-pad, hi+pad
	p.Y.Min = 0
	p.Y.Max *= 1.2 // room for the legend above the curves
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	return p, nil
}

func xys(pts []Point) plotter.XYs {
	xy := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		xy[i].X, xy[i].Y = pt.X, pt.Y
	}
	return xy
}
