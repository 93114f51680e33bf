package model_test

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGorgoniaSmoke runs a 2x2 gorgonia graph. If go.mod loses the pin of
// go4.org/unsafe/assume-no-moving-gc (v0.0.0-20231121144256-b99613f794b6),
// every program importing gorgonia panics at init on Go 1.26 and this test
// binary dies before running anything.
func TestGorgoniaSmoke(t *testing.T) {
	g := G.NewGraph()
	a := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 2), G.WithName("a"),
		G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))))
	b := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 2), G.WithName("b"),
		G.WithValue(tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{5, 6, 7, 8}))))
	c, err := G.Mul(a, b)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := c.Value().Data().([]float32)
	want := []float32{19, 22, 43, 50}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("a·b = %v, want %v", got, want)
		}
	}
}
