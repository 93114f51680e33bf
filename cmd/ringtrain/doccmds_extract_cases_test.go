package main

import (
	"reflect"
	"testing"
)

func TestExtractCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		md   string
		want []docCommand
	}{
		{"sh block: comments, blanks, trailing comments, continuations",
			"text `ringtrain inline` is not a command\n```sh\n# a comment\n\nringtrain launch   # trains\nringtrain coordinator --a 1 \\\n  --b 2\necho '# kept' \"#x\"\n```\n",
			[]docCommand{
				{File: "f.md", Line: 5, Text: "ringtrain launch"},
				{File: "f.md", Line: 6, Text: "ringtrain coordinator --a 1 --b 2"},
				{File: "f.md", Line: 8, Text: `echo '# kept' "#x"`},
			}},
		{"bash and shell blocks count, other languages and bare fences do not",
			"```bash\nmake build\n```\n```yaml\nname: x\n```\n```\nringtrain output line\n```\n```go\nx := 1\n```\n```shell\nls\n```\n",
			[]docCommand{{File: "f.md", Line: 2, Text: "make build"}, {File: "f.md", Line: 14, Text: "ls"}}},
		{"inline code with backquotes is no fence",
			"```` ```sh ```` blocks\n```sh\nringtrain version\n```\n",
			[]docCommand{{File: "f.md", Line: 3, Text: "ringtrain version"}}},
		{"console: only prompted lines",
			"```console\n$ ringtrain version\nringtrain v1 (output)\n$ ringtrain simulate \\\n--nodes 2\n```\n",
			[]docCommand{{File: "f.md", Line: 2, Text: "ringtrain version"}, {File: "f.md", Line: 4, Text: "ringtrain simulate --nodes 2"}}},
		{"table: ringtrain and make spans, escaped bars, row flags",
			"| command | what |\n|---|---|\n| `ringtrain checkpoint ls\\|verify DIR` | x (`--resume`, `--auto-resume`) |\n| `make image` | `docker build` `RUN_DIR` |\n",
			[]docCommand{
				{File: "f.md", Line: 3, Text: "ringtrain checkpoint ls|verify DIR", InTable: true, RowFlags: []string{"--resume", "--auto-resume"}},
				{File: "f.md", Line: 4, Text: "make image", InTable: true},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := extractCommands("f.md", tc.md)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestIsTemplate(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"ringtrain launch [--workers N]", true},
		{"ringtrain checkpoint ls|inspect DIR", true},
		{"ringtrain status --coordinator HOST:PORT --tls-dir DIR", true},
		{"ringtrain certs init --dir DIR --hosts HOST,...", true},
		{"ringtrain launch --resume RUN_DIR", true},
		{"ringtrain launch --trace", false},
		{"ringtrain scale --workers 1,2,4 --config job.yaml", false},
		{"make build-openblas", false},
	} {
		if got := isTemplate(tc.text); got != tc.want {
			t.Errorf("isTemplate(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestInvocations(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []invocation
	}{
		{"ringtrain launch --workers 4", []invocation{{"ringtrain", []string{"launch", "--workers", "4"}}}},
		{"go run ./cmd/ringtrain launch", []invocation{{"ringtrain", []string{"launch"}}}},
		{"make image && kind load docker-image ringtrain:latest", []invocation{{"make", []string{"image"}}}},
		{"REPS=2 EXTRA='./ringtrain bench train --csv; OPENBLAS_NUM_THREADS=1 ./ringtrain-openblas bench train' ./run_all.sh",
			[]invocation{{"ringtrain", []string{"bench", "train", "--csv"}}, {"ringtrain", []string{"bench", "train"}}}},
		{"docker-compose -f c.yaml exec coordinator /ringtrain status --tls-dir /tls",
			[]invocation{{"ringtrain", []string{"status", "--tls-dir", "/tls"}}}},
		{"export RINGTRAIN_BIN=$HOME/bin/ringtrain", nil},
		{"cp bin/ringtrain /tmp/x && cd /tmp/x", nil},
		{"export RINGTRAIN_SECRET=$(cat /etc/ringtrain/secret)", nil},
	} {
		if got := invocations(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("invocations(%q)\n got  %+v\n want %+v", tc.text, got, tc.want)
		}
	}
}

// The help check catches a wrong verb or flag, and accepts real ones.
func TestHelpCheckCatchesTypos(t *testing.T) {
	h := &helpCache{out: map[string]string{}}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"launch", "--workers", "4", "--run-dir", "runs/x"}, true},
		{[]string{"checkpoint", "ls|inspect|verify|export", "DIR"}, true},
		{[]string{"launch", "[--workers", "N]", "[--config", "job.yaml]"}, true},
		{[]string{"coordinator", "--metrics-addr=0.0.0.0:9090"}, true},
		{[]string{"launch", "--worker", "4"}, false},
		{[]string{"checkpoint", "ls|remove", "DIR"}, false},
		{[]string{"lanch"}, false},
		{[]string{"bench", "allreduce", "--size", "4K"}, false},
	} {
		if err := h.check(tc.args); (err == nil) != tc.ok {
			t.Errorf("check %q: %v, want ok=%v", tc.args, err, tc.ok)
		}
	}
}
