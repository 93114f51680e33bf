package telemetry

import (
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The scale charts: 800×500 PNG, one integer tick per measured world size,
// a y axis from 0, and the ideal-scaling line in the legend when given.
func TestScalingChart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     ScalingChart
		ideal bool
	}{
		{"throughput with ideal", ScalingChart{Title: "Throughput", YLabel: "samples/s",
			Points: []Point{{1, 3000}, {2, 5000}, {4, 6000}}, Ideal: []Point{{1, 3000}, {2, 6000}, {4, 12000}}}, true},
		{"share without ideal", ScalingChart{Title: "Communication share", YLabel: "%",
			Points: []Point{{1, 40}, {3, 45}, {8, 60}}}, false},
		{"all zero", ScalingChart{Title: "Zero", YLabel: "%", Points: []Point{{1, 0}, {2, 0}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.c.plot()
			if err != nil {
				t.Fatal(err)
			}
			if p.Y.Min != 0 || p.Y.Max <= 0 {
				t.Errorf("y axis [%v, %v], want it to start at 0", p.Y.Min, p.Y.Max)
			}
			var labels []string
			for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
				if tk.Label != "" {
					labels = append(labels, tk.Label)
				}
			}
			var want []string
			for _, pt := range tc.c.Points {
				want = append(want, strconv.Itoa(int(pt.X)))
			}
			if strings.Join(labels, ",") != strings.Join(want, ",") {
				t.Errorf("x tick labels %q, want the world sizes %q", labels, want)
			}
			path := filepath.Join(t.TempDir(), "c.png")
			if err := tc.c.WritePNG(path); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != ScalingWidth || b.Dy() != ScalingHeight {
				t.Errorf("PNG %d×%d, want %d×%d", b.Dx(), b.Dy(), ScalingWidth, ScalingHeight)
			}
			// The ideal line is drawn (and only when asked for).
			ir, ig, ib, _ := idealColor().RGBA()
			n := 0
			for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
				for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
					if r, g, b, _ := img.At(x, y).RGBA(); r == ir && g == ig && b == ib {
						n++
					}
				}
			}
			if drawn := n > 50; drawn != tc.ideal {
				t.Errorf("%d pixels of the ideal line's colour; want the line drawn: %v", n, tc.ideal)
			}
		})
	}
	if _, err := (ScalingChart{Title: "x", Points: []Point{{1.5, 1}}}).plot(); err == nil {
		t.Error("1.5 workers accepted")
	}
	if _, err := (ScalingChart{Title: "x"}).plot(); err == nil {
		t.Error("a chart without points accepted")
	}
}
