package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ringtrain/ringtrain/checkpoint"
)

// Example shows the whole cycle: workers encode their shards, the
// coordinator stores and commits them, a new world of another size
// restores.
func Example() {
	fsys := checkpoint.NewMemFS() // checkpoint.OSFS{} in production
	model := json.RawMessage(`{"kind":"mlp","sizes":[2,3]}`)
	store, err := checkpoint.Open(fsys, "/ckpt", checkpoint.Options{ModelSpec: model})
	if err != nil {
		panic(err)
	}

	// Step 100, world size 2, 9 parameters with Adam state.
	flat := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	m1 := []float32{.1, .2, .3, .4, .5, .6, .7, .8, .9}
	v1 := []float32{9, 8, 7, 6, 5, 4, 3, 2, 1}
	var infos []checkpoint.ShardInfo
	for rank, r := range [][2]int{{0, 5}, {5, 9}} {
		// Worker: snapshot and encode its shard (streamed over gRPC in practice).
		var upload bytes.Buffer
		err := checkpoint.EncodeShard(&upload, &checkpoint.Shard{
			Step: 100, Lo: r[0], Hi: r[1], Params: flat[r[0]:r[1]],
			States: map[string][]float32{"m": m1[r[0]:r[1]], "v": v1[r[0]:r[1]]},
		})
		if err != nil {
			panic(err)
		}
		// Coordinator: store it durably.
		info, err := store.WriteShard(100, rank, &upload)
		if err != nil {
			panic(err)
		}
		infos = append(infos, info)
	}
	err = store.Commit(checkpoint.Manifest{
		Step: 100, WorldSize: 2, ModelSpec: model, NumParams: 9,
		Layout: []checkpoint.Tensor{
			{Name: "fc.weight", Shape: []int{2, 3}, Offset: 0},
			{Name: "fc.bias", Shape: []int{3}, Offset: 6},
		},
		StateNames: []string{"m", "v"}, OptimizerSteps: 100, Shards: infos,
	})
	if err != nil {
		panic(err)
	}

	// Restore into a world of 3: rank 1 owns [3, 6).
	m, warnings, err := store.Latest()
	if err != nil {
		panic(err)
	}
	if err := store.Rewind(m.Step); err != nil {
		panic(err)
	}
	params, states, err := store.ReadRange(m, 3, 6)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Step, len(warnings), params, states["v"])
	// Output: 100 0 [4 5 6] [6 5 4]
}
