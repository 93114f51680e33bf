package serve

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The KServe v2 / Triton open inference protocol over HTTP/JSON.

// v2Tensor is a tensor of a request or a response.
type v2Tensor struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data,omitempty"`
}

type v2Request struct {
	ID      string     `json:"id,omitempty"`
	Inputs  []v2Tensor `json:"inputs"`
	Outputs []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

type v2Output struct {
	Name     string `json:"name"`
	Shape    []int  `json:"shape"`
	Datatype string `json:"datatype"`
	Data     any    `json:"data"`
}

type v2Response struct {
	ModelName    string     `json:"model_name"`
	ModelVersion string     `json:"model_version"`
	ID           string     `json:"id,omitempty"`
	Outputs      []v2Output `json:"outputs"`
}

type v2TensorMeta struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
}

// The output names.
const (
	outLogits = "logits"
	outProbs  = "probabilities"
	outClass  = "class"
	outOOD    = "ood_score" // only when asked for (ood.go)
	inputName = "input"
)

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	info := s.Info()
	c := info.Classes()
	meta := map[string]any{
		"name":     s.opts.Name,
		"versions": []string{strconv.FormatInt(info.Version, 10)},
		"platform": "ringtrain_" + info.Spec.Kind,
		"inputs":   []v2TensorMeta{{Name: inputName, Datatype: "FP32", Shape: append([]int{-1}, info.Spec.Input...)}},
		"outputs": []v2TensorMeta{
			{Name: outLogits, Datatype: "FP32", Shape: []int{-1, c}},
			{Name: outProbs, Datatype: "FP32", Shape: []int{-1, c}},
			{Name: outClass, Datatype: "INT64", Shape: []int{-1}},
		},
	}
	params := map[string]any{}
	if info.ClassNames != nil {
		params["class_names"] = info.ClassNames
	}
	if info.Metrics != nil {
		params["metrics"] = info.Metrics
	}
	if len(params) > 0 {
		meta["parameters"] = params
	}
	writeJSON(w, http.StatusOK, meta)
}

func (s *Server) handleInfer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := s.b.arrive()
	resp, version, e := s.infer(w, r, &a)
	a.leave()
	s.finish(w, "infer", start, version, resp, e)
}

// infer answers a v2 infer request; a is the handler's arrival, left when
// the request is submitted (or fails before).
func (s *Server) infer(w http.ResponseWriter, r *http.Request, a *arrival) (*v2Response, int64, *httpError) {
	var req v2Request
	if e := s.readBody(w, r, &req); e != nil {
		return nil, 0, e
	}
	info := s.Info()
	in := info.InputSize()
	if len(req.Inputs) != 1 {
		s.ab.record(AbnormalShape, "inputs: "+strconv.Itoa(len(req.Inputs))+" tensors")
		return nil, 0, badRequest("inputs: %d tensors, want 1", len(req.Inputs))
	}
	t := req.Inputs[0]
	if t.Datatype != "FP32" {
		s.ab.record(AbnormalDatatype, "datatype "+strconv.Quote(t.Datatype))
		return nil, 0, badRequest("input datatype %q, want FP32", t.Datatype)
	}
	if len(t.Shape) < 2 || t.Shape[0] < 1 || !(slices.Equal(t.Shape[1:], info.Spec.Input) || slices.Equal(t.Shape[1:], []int{in})) {
		s.ab.record(AbnormalShape, "shape "+jsonText(t.Shape))
		return nil, 0, badRequest("input shape %v, want [N %s] or [N %d] with N >= 1", t.Shape, dims(info.Spec.Input), in)
	}
	n := t.Shape[0]
	vals, err := flatten(t.Data)
	if err != nil {
		s.ab.record(AbnormalMalformed, "data: "+err.Error())
		return nil, 0, badRequest("input data: %v", err)
	}
	if len(vals) != n*in {
		s.ab.record(AbnormalShape, "data of "+strconv.Itoa(len(vals))+" values for shape "+jsonText(t.Shape))
		return nil, 0, badRequest("input data has %d values, the shape %v says %d", len(vals), t.Shape, n*in)
	}
	want := map[string]bool{outLogits: true, outProbs: true, outClass: true}
	if len(req.Outputs) > 0 {
		want = map[string]bool{}
		for _, o := range req.Outputs {
			if o.Name == outOOD && s.ood.Load() == nil {
				return nil, 0, badRequest("output %q: this model has no out-of-distribution score (no input_stats and ood_threshold in its metadata)", o.Name)
			}
			if o.Name != outLogits && o.Name != outProbs && o.Name != outClass && o.Name != outOOD {
				s.ab.record(AbnormalMalformed, "output "+strconv.Quote(o.Name))
				return nil, 0, badRequest("output %q: the outputs are %s, %s, %s and %s", o.Name, outLogits, outProbs, outClass, outOOD)
			}
			want[o.Name] = true
		}
	}
	x, e := s.toInputs(vals, info)
	if e != nil {
		return nil, 0, e
	}
	res, e := s.run(r, a, x, n)
	if e != nil {
		return nil, 0, e
	}
	scores, _ := s.scoreOOD(x, res, n)
	c := info.Classes()
	resp := &v2Response{ModelName: s.opts.Name, ModelVersion: strconv.FormatInt(res.version, 10), ID: req.ID}
	if want[outLogits] {
		resp.Outputs = append(resp.Outputs, v2Output{Name: outLogits, Shape: []int{n, c}, Datatype: "FP32", Data: res.logits})
	}
	if want[outProbs] {
		resp.Outputs = append(resp.Outputs, v2Output{Name: outProbs, Shape: []int{n, c}, Datatype: "FP32", Data: res.probs})
	}
	if want[outClass] {
		classes := make([]int64, n)
		for i := range n {
			classes[i] = int64(Argmax(res.probs[i*c : (i+1)*c]))
		}
		resp.Outputs = append(resp.Outputs, v2Output{Name: outClass, Shape: []int{n}, Datatype: "INT64", Data: classes})
	}
	if want[outOOD] && scores != nil {
		resp.Outputs = append(resp.Outputs, v2Output{Name: outOOD, Shape: []int{n}, Datatype: "FP64", Data: scores})
	}
	return resp, res.version, nil
}

// predictRequest is the body of POST /predict.
type predictRequest struct {
	Instances []json.RawMessage `json:"instances"`
}

// Prediction is one instance's answer of POST /predict.
type Prediction struct {
	Class       int     `json:"class"`
	Probability float32 `json:"probability"`
	Label       string  `json:"label,omitempty"`
	// OODScore is the instance's out-of-distribution score and
	// OutOfDistribution whether it is over the threshold (ood.go), when
	// the model has one.
	OODScore          *float64 `json:"ood_score,omitempty"`
	OutOfDistribution bool     `json:"out_of_distribution,omitempty"`
}

type predictResponse struct {
	Predictions  []Prediction `json:"predictions"`
	ModelVersion int64        `json:"model_version"`
}

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := s.b.arrive()
	resp, version, e := s.predict(w, r, &a)
	a.leave()
	s.finish(w, "predict", start, version, resp, e)
}

// predict answers a /predict request, like infer.
func (s *Server) predict(w http.ResponseWriter, r *http.Request, a *arrival) (*predictResponse, int64, *httpError) {
	var req predictRequest
	if e := s.readBody(w, r, &req); e != nil {
		return nil, 0, e
	}
	info := s.Info()
	in := info.InputSize()
	if len(req.Instances) == 0 {
		s.ab.record(AbnormalShape, "no instances")
		return nil, 0, badRequest(`want {"instances": [[...], ...]} with at least one instance`)
	}
	vals := make([]float64, 0, len(req.Instances)*in)
	for i, raw := range req.Instances {
		v, err := flatten(raw)
		if err != nil {
			s.ab.record(AbnormalMalformed, "instance: "+err.Error())
			return nil, 0, badRequest("instance %d: %v", i, err)
		}
		if len(v) != in {
			s.ab.record(AbnormalShape, "instance of "+strconv.Itoa(len(v))+" values")
			return nil, 0, badRequest("instance %d has %d values, the model takes %d (%s)", i, len(v), in, dims(info.Spec.Input))
		}
		vals = append(vals, v...)
	}
	x, e := s.toInputs(vals, info)
	if e != nil {
		return nil, 0, e
	}
	n := len(req.Instances)
	res, e := s.run(r, a, x, n)
	if e != nil {
		return nil, 0, e
	}
	preds := Predictions(res.probs, info)
	if scores, t := s.scoreOOD(x, res, n); scores != nil {
		for i := range preds {
			preds[i].OODScore, preds[i].OutOfDistribution = &scores[i], scores[i] > t
		}
	}
	return &predictResponse{Predictions: preds, ModelVersion: res.version}, res.version, nil
}

// Predictions are the most likely class of each row of probs, with its
// probability and name (when the model has class names).
func Predictions(probs []float32, info *Info) []Prediction {
	c := info.Classes()
	out := make([]Prediction, len(probs)/c)
	for i := range out {
		row := probs[i*c : (i+1)*c]
		k := Argmax(row)
		out[i] = Prediction{Class: k, Probability: row[k]}
		if info.ClassNames != nil {
			out[i].Label = info.ClassNames[k]
		}
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func dims(shape []int) string {
	s := ""
	for i, d := range shape {
		if i > 0 {
			s += " "
		}
		s += strconv.Itoa(d)
	}
	return s
}
