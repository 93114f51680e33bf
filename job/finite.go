package job

import (
	"fmt"
	"math"
	"reflect"
	"strings"
)

// nonFinite is a float key of the job whose value is NaN or infinite.
type nonFinite struct {
	key string
	val float64
}

// nonFiniteKeys walks every field of the spec by reflection, so that a float
// key added later cannot be forgotten, and returns the YAML key of each
// float that is NaN or ±Inf (YAML's .nan, .inf), in field order.
func nonFiniteKeys(s Spec) []nonFinite {
	var out []nonFinite
	walkFloats(reflect.ValueOf(s), "", func(key string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out = append(out, nonFinite{key, v})
		}
	})
	return out
}

// walkFloats calls f with the key and value of every float reachable from v:
// struct fields (named by their yaml tag), slice and array elements
// (key[i]), map values (key.k), pointers and interfaces.
func walkFloats(v reflect.Value, key string, f func(string, float64)) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f(key, v.Float())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "-" || !t.Field(i).IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(t.Field(i).Name)
			}
			if key != "" {
				name = key + "." + name
			}
			walkFloats(v.Field(i), name, f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkFloats(v.Index(i), fmt.Sprintf("%s[%d]", key, i), f)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkFloats(iter.Value(), fmt.Sprintf("%s.%v", key, iter.Key()), f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkFloats(v.Elem(), key, f)
		}
	}
}
