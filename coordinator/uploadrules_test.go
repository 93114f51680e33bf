package coordinator

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ringtrain/ringtrain/job"
)

// Which steps a generation may checkpoint, from what the coordinator knows.
func TestStepRule(t *testing.T) {
	stepsJob := stepRule{restore: 30, latest: 40, last: 100, everySteps: 10}
	tests := []struct {
		name  string
		rule  stepRule
		step  int64
		store bool
		code  codes.Code // codes.OK: accepted
		want  string
	}{
		{"the next multiple", stepsJob, 50, true, codes.OK, ""},
		{"the last step, not a multiple", stepRule{restore: 30, last: 95, everySteps: 10}, 95, true, codes.OK, ""},
		{"the restored step", stepsJob, 30, false, codes.InvalidArgument, "restored step 30"},
		{"before the restored step", stepsJob, 3, false, codes.InvalidArgument, "restored step 30"},
		{"committed past (trained again)", stepsJob, 40, false, codes.OK, ""},
		{"after the last step", stepsJob, 999999999999, false, codes.InvalidArgument, "after the job's last step 100"},
		{"not a multiple", stepsJob, 45, false, codes.InvalidArgument, "multiple of checkpoint.every_steps 10, or the last step 100"},
		{"only the last step", stepRule{last: 100}, 50, false, codes.InvalidArgument, "only the last step 100"},
		{"train.epochs: the last step is not known", stepRule{restore: 30, everySteps: 10}, 45, true, codes.OK, ""},
		{"train.epochs: still above the restored step", stepRule{restore: 30, everySteps: 10}, 20, false, codes.InvalidArgument, "restored step 30"},
		{"every_epochs: any step", stepRule{last: 100, everySteps: 10, anyStep: true}, 45, true, codes.OK, ""},
		{"every_epochs: still at most the last step", stepRule{last: 100, anyStep: true}, 101, false, codes.InvalidArgument, "last step 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := tc.rule.check(tc.step)
			if store != tc.store || status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.want) {
				t.Fatalf("check(%d) = %v, %v; want %v, %v naming %q", tc.step, store, err, tc.store, tc.code, tc.want)
			}
		})
	}
}

// The parts of a draft's model that the job decides.
func TestJobModel(t *testing.T) {
	mlp := job.Default().Model
	tests := []struct {
		name string
		spec string
		code codes.Code
	}{
		{"the job's model", `{"kind":"mlp","hidden":[256],"input":[784],"classes":10,"loss":"xent"}`, codes.OK},
		{"another kind", `{"kind":"cnn","hidden":[256],"input":[1,28,28],"classes":10,"loss":"xent"}`, codes.FailedPrecondition},
		{"other hidden sizes", `{"kind":"mlp","hidden":[512],"input":[784],"classes":10,"loss":"xent"}`, codes.FailedPrecondition},
		{"another loss", `{"kind":"mlp","hidden":[256],"input":[784],"classes":10,"loss":"mse"}`, codes.FailedPrecondition},
		{"no model", ``, codes.InvalidArgument},
		{"not an object", `[1]`, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := jobModel(json.RawMessage(tc.spec), mlp)
			if status.Code(err) != tc.code {
				t.Fatalf("jobModel(%s) = %v, want %v", tc.spec, err, tc.code)
			}
		})
	}
}
