package serve

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// v2Bodies are requests the fast path should take, and near misses it
// must leave to encoding/json.
var v2Bodies = []string{
	`{"inputs":[{"name":"input","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`,
	` { "id" : "r-1" , "inputs" : [ { "name" : "input" , "shape" : [ 2 , 3 ] , "datatype" : "FP32" , "data" : [ 1.5 , -2e3 , 0 , 4 , 5 , 6 ] } ] , "outputs" : [ { "name" : "class" } , {"name":"logits"} ] } ` + "\n",
	`{"inputs":[]}`, `{}`, `{"outputs":[]}`, `{"outputs":[{}]}`, `{"inputs":[{}]}`,
	`{"inputs":[{"data":[]}]}`, `{"inputs":[{"shape":[]}]}`, `{"inputs":[{"shape":[-0, 7]}]}`,
	`{"inputs":[{"name":"a"},{"name":"b","data":[1e400]}]}`,
	// near misses
	`{"Inputs":[{"name":"input","shape":[1,6],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`,
	`{"inputs":[{"NAME":"input"}]}`, `{"id":"a","id":"b"}`, `{"inputs":null}`, `{"id":null}`,
	`{"id":"\u0041"}`, `{"id":"é"}`, `{"id":"a\"b"}`, `{"inputs":[{"data":[[1,2],[3,4]]}]}`,
	`{"inputs":[{"data":[1,2,]}]}`, `{"inputs":[{"data":[01]}]}`, `{"inputs":[{"data":["1"]}]}`,
	`{"inputs":[{"shape":[1.0]}]}`, `{"inputs":[{"shape":[1e2]}]}`, `{"inputs":[{"shape":[99999999999999999999]}]}`,
	`{"inputs":[{"parameters":{"binary_data_size":3}}]}`, `{"parameters":{}}`, `{"outputs":[{"name":"x","parameters":{}}]}`,
	`{"inputs":[{"name":"input"}]} x`, `{"inputs":[{"name":"input"}]}}`, `[]`, `null`, ``, `{`, `{"id"}`,
	`{"id":"a",}`, `{,"id":"a"}`, `{"id":1}`, `{"inputs":{}}`, `{"inputs":[{"data":{}}]}`, `{"inputs":[{"name":"a\tb"}]}`,
}

// TestDecodeV2FastAgainstEncodingJSON: wherever the fast path answers,
// encoding/json (the reference) decodes the same body without error to
// the same request; bodies mutated at random check the rest.
func TestDecodeV2FastAgainstEncodingJSON(t *testing.T) {
	bodies := append([]string{}, v2Bodies...)
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		b := []byte(v2Bodies[r.IntN(11)]) // mutate the valid ones
		for range 1 + r.IntN(3) {
			if len(b) == 0 {
				break
			}
			i := r.IntN(len(b))
			switch c := `{}[],:"\ 0123456789-.eEa` + "\n"; r.IntN(3) {
			case 0:
				b = append(b[:i], b[i+1:]...)
			case 1:
				b = append(b[:i], append([]byte{c[r.IntN(len(c))]}, b[i:]...)...)
			default:
				b[i] = c[r.IntN(len(c))]
			}
		}
		bodies = append(bodies, string(b))
	}
	took := 0
	for _, body := range bodies {
		got, ok := decodeV2Fast([]byte(body))
		if !ok {
			continue
		}
		took++
		var want v2Request
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Errorf("%q: the fast path decodes it, encoding/json fails: %v", body, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\nfast %#v\njson %#v", body, got, want)
		}
	}
	for _, body := range v2Bodies[:11] {
		if _, ok := decodeV2Fast([]byte(body)); !ok {
			t.Errorf("%q: the fast path declines a plain request", body)
		}
	}
	for _, body := range v2Bodies[11:] {
		if _, ok := decodeV2Fast([]byte(body)); ok {
			t.Errorf("%q: the fast path takes a body it should leave to encoding/json", body)
		}
	}
	t.Logf("the fast path took %d of %d bodies", took, len(bodies))
}

func BenchmarkDecodeV2(b *testing.B) {
	parts := make([]string, 784)
	for i := range parts {
		parts[i] = strconv.Itoa(i % 256)
	}
	body := []byte(`{"inputs":[{"name":"input","shape":[1,784],"datatype":"FP32","data":[` + strings.Join(parts, ",") + `]}]}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeV2Fast(body); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			var req v2Request
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
