package membership

import (
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMetaRoundTrip(t *testing.T) {
	m := Meta{Role: RoleCoordinator, ID: "host:123", GRPCAddr: "[::1]:50051", Version: "v1.2.3"}
	for _, leaving := range []bool{false, true} {
		b, err := encodeMeta(m, leaving)
		if err != nil {
			t.Fatal(err)
		}
		got, gotLeaving, err := decodeMeta(b)
		if err != nil || got != m || gotLeaving != leaving {
			t.Errorf("decode(encode(%+v, %v)) = %+v, %v, %v", m, leaving, got, gotLeaving, err)
		}
	}
}

func TestMetaFitsWithTypicalValues(t *testing.T) {
	m := Meta{
		Role:     RoleWorker,
		ID:       "0f8fad5b-d9cb-469f-a165-70867728950e",
		DataAddr: "[2001:db8:85a3::8a2e:370:7334]:65535",
		GRPCAddr: "coordinator.ringtrain.svc.cluster.local:50051",
		Version:  "v10.20.30-rc.1+abcdef0123456789",
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	b, _ := encodeMeta(m, true)
	if len(b) > memberlist.MetaMaxSize/2 {
		t.Errorf("typical meta is %d bytes: %s", len(b), b)
	}
}

func TestDecodeMetaNeverPanics(t *testing.T) {
	for _, in := range []string{"", "{", "null", "[]", `{"r":5}`, `{"r":"worker","x":{"y":[1,2]}}`, "\xff\xfe", strings.Repeat("[", 10000)} {
		got, _, err := decodeMeta([]byte(in))
		if err != nil && got != (Meta{}) {
			t.Errorf("decodeMeta(%.20q) = %+v with error %v: want zero Meta", in, got, err)
		}
	}
	got, _, err := decodeMeta([]byte(`{"r":"worker","i":"w","future":"field"}`))
	if err != nil || got.Role != RoleWorker || got.ID != "w" {
		t.Errorf("unknown keys: %+v, %v", got, err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	b, _ := encodeMeta(Meta{Role: RoleWorker, ID: "w", DataAddr: "127.0.0.1:1"}, true)
	f.Add(b)
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		m, _, err := decodeMeta(in)
		if err != nil && m != (Meta{}) {
			t.Fatalf("non-zero meta with error")
		}
	})
}
