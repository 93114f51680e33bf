package serve

import "slices"

// decodeV2Fast is readBody's fast path for the common KServe v2 request:
// {"id": "...", "inputs": [{"name", "shape", "datatype", "data": [numbers]}],
// "outputs": [{"name": "..."}]} with plain strings (no escapes, ASCII) and
// each key once, exactly spelled. It answers ok=false for anything else
// (other keys or spellings, null, escapes, nested data, parameters, bad
// JSON), which encoding/json then decodes, as the reference, for its value
// or its error. Data keeps the bytes of the array (parsed by flatten).
func decodeV2Fast(b []byte) (req v2Request, ok bool) {
	p := &fastParser{b: b}
	ok = p.object(func(key string) bool {
		switch key {
		case "id":
			s, ok := p.str()
			req.ID = s
			return ok
		case "inputs":
			req.Inputs = []v2Tensor{}
			return p.array(func() bool {
				t, ok := p.tensor()
				req.Inputs = append(req.Inputs, t)
				return ok
			})
		case "outputs":
			req.Outputs = []struct {
				Name string `json:"name"`
			}{}
			return p.array(func() bool {
				var name string
				ok := p.object(func(key string) bool {
					if key != "name" {
						return false
					}
					var ok bool
					name, ok = p.str()
					return ok
				})
				req.Outputs = append(req.Outputs, struct {
					Name string `json:"name"`
				}{name})
				return ok
			})
		}
		return false
	})
	if !ok || p.space() != len(b) {
		return v2Request{}, false
	}
	return req, true
}

// fastParser reads the subset of JSON decodeV2Fast accepts.
type fastParser struct {
	b []byte
	i int
}

// space skips whitespace and returns the position.
func (p *fastParser) space() int {
	p.i = skipSpace(p.b, p.i)
	return p.i
}

// eat consumes c (after whitespace) if it is next.
func (p *fastParser) eat(c byte) bool {
	if p.space() < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling field for each key (which
// reads the value); a repeated key is refused.
func (p *fastParser) object(field func(key string) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	var seen []string
	for {
		key, ok := p.str()
		if !ok || slices.Contains(seen, key) || !p.eat(':') || !field(key) {
			return false
		}
		seen = append(seen, key)
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// array reads [elem, ...], calling elem for each element.
func (p *fastParser) array(elem func() bool) bool {
	if !p.eat('[') {
		return false
	}
	if p.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.eat(']') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// str reads a string of printable ASCII without escapes.
func (p *fastParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return string(p.b[start : p.i-1]), true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// tensor reads one input tensor; its data must be a flat array of numbers.
func (p *fastParser) tensor() (t v2Tensor, ok bool) {
	ok = p.object(func(key string) bool {
		var ok bool
		switch key {
		case "name":
			t.Name, ok = p.str()
		case "datatype":
			t.Datatype, ok = p.str()
		case "shape":
			t.Shape = []int{}
			ok = p.array(func() bool {
				n, ok := p.smallInt()
				t.Shape = append(t.Shape, n)
				return ok
			})
		case "data":
			start := p.space()
			ok = p.array(func() bool {
				end := numberEnd(p.b, p.space())
				if end < 0 {
					return false
				}
				p.i = end
				return true
			})
			t.Data = p.b[start:p.i]
		}
		return ok
	})
	return t, ok
}

// smallInt reads an integer of at most 15 digits (a shape dimension).
func (p *fastParser) smallInt() (int, bool) {
	start := p.space()
	end := numberEnd(p.b, start)
	if end < 0 {
		return 0, false
	}
	v, ok := smallInt(p.b[start:end])
	p.i = end
	return int(v), ok
}
