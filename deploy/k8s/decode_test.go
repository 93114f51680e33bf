package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kinds maps apiVersion/kind to the official type a document decodes
// into. A kind not listed here fails the test: add it (and its checks)
// before using it in a manifest.
var kinds = map[string]func() any{
	"v1/Namespace":             func() any { return &corev1.Namespace{} },
	"v1/Service":               func() any { return &corev1.Service{} },
	"v1/ConfigMap":             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                func() any { return &corev1.Secret{} },
	"v1/PersistentVolumeClaim": func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/StatefulSet":      func() any { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":       func() any { return &appsv1.Deployment{} },
}

// doc is one decoded YAML document.
type doc struct {
	file  string // relative to deploy/k8s
	index int    // 0-based document index within the file
	meta  metav1.TypeMeta
	obj   any // *corev1.Service, *appsv1.StatefulSet, *appsv1.Deployment, ...
}

func (d doc) String() string { return fmt.Sprintf("%s#%d (%s)", d.file, d.index, d.meta.Kind) }

// objectMeta returns the object's metadata.
func (d doc) objectMeta() *metav1.ObjectMeta {
	switch o := d.obj.(type) {
	case *corev1.Namespace:
		return &o.ObjectMeta
	case *corev1.Service:
		return &o.ObjectMeta
	case *corev1.ConfigMap:
		return &o.ObjectMeta
	case *corev1.Secret:
		return &o.ObjectMeta
	case *corev1.PersistentVolumeClaim:
		return &o.ObjectMeta
	case *appsv1.StatefulSet:
		return &o.ObjectMeta
	case *appsv1.Deployment:
		return &o.ObjectMeta
	}
	panic(fmt.Sprintf("objectMeta: unhandled %T", d.obj))
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// splitDocs splits a YAML stream on --- lines and drops documents that
// hold only comments and blank lines.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, part := range separator.Split(string(b), -1) {
		empty := true
		for line := range strings.SplitSeq(part, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, []byte(part))
		}
	}
	return docs
}

// strictUnmarshal decodes YAML into v the way the API server decodes JSON:
// case-sensitive field names, and unknown or duplicate fields are errors.
func strictUnmarshal(b []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(b) // duplicate YAML keys fail here
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decodeDoc reads apiVersion and kind, then decodes the document strictly
// into the matching official type.
func decodeDoc(b []byte) (metav1.TypeMeta, any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(b, &tm); err != nil {
		return tm, nil, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return tm, nil, errors.New("apiVersion and kind are required")
	}
	newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return tm, nil, fmt.Errorf("unknown kind %s %s (not in the test's kinds table)", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := strictUnmarshal(b, obj); err != nil {
		return tm, nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return tm, obj, nil
}

// decodeFile decodes every document of a manifest file.
func decodeFile(name string, b []byte) ([]doc, error) {
	if bytes.Contains(b, []byte("\t")) {
		return nil, fmt.Errorf("%s: contains a tab (YAML indentation must be spaces)", name)
	}
	var docs []doc
	for i, part := range splitDocs(b) {
		tm, obj, err := decodeDoc(part)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", name, i, err)
		}
		docs = append(docs, doc{file: name, index: i, meta: tm, obj: obj})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no documents", name)
	}
	return docs, nil
}
