package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ringtrain/ringtrain/control"
	"github.com/ringtrain/ringtrain/coordinator"
	"github.com/ringtrain/ringtrain/internal/secret"
	pb "github.com/ringtrain/ringtrain/proto/ringtrain/v1"
)

func newStatusCmd(g *globals) *cobra.Command {
	var addr string
	var asJSON bool
	var events int
	var sf secretFlag
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "status --coordinator HOST:PORT",
		Short: "Show a running job: members, generation, progress, checkpoints and recent events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				return fmt.Errorf("--coordinator HOST:PORT is required")
			}
			sec, err := sf.load()
			if err != nil {
				return err
			}
			tok, err := secret.ControlToken(sec)
			if err != nil {
				return err
			}
			tlsCfg, err := tf.client(addr)
			if err != nil {
				return err
			}
			conn, err := grpc.NewClient(addr, control.DialOptions(tlsCfg, tok)...)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			st, err := pb.NewCoordinatorClient(conn).Status(ctx, &pb.StatusRequest{})
			if err != nil {
				return fmt.Errorf("status from %s: %w", addr, err)
			}
			if asJSON {
				// snake_case keys, like summary.json and the .proto
				b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st)
				if err != nil {
					return fmt.Errorf("status as JSON: %w", err)
				}
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					return fmt.Errorf("status as JSON: %w", err)
				}
				return json.NewEncoder(g.stdout).Encode(v)
			}
			printStatus(g, st, events)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "coordinator", "", "the coordinator's control-plane address (required)")
	sf.register(f)
	f.BoolVar(&asJSON, "json", false, "print the status as JSON (snake_case keys as in the .proto; 64-bit numbers as strings)")
	f.IntVar(&events, "events", 15, "recent events to show")
	tf.register(f, true)
	return cmd
}

func printStatus(g *globals, st *pb.StatusResponse, events int) {
	w := g.stdout
	fmt.Fprintf(w, "run %s  phase %s  generation %d  world size %d  latest checkpoint %d\n", st.RunId, st.Phase, st.Generation, st.WorldSize, st.LatestCheckpoint)
	if st.MetricsAddr != "" {
		fmt.Fprintf(w, "coordinator metrics: http://%s/metrics\n", st.MetricsAddr)
	}
	if p := st.Progress; p != nil {
		fmt.Fprintf(w, "step %d/%d  epoch %d  loss %.4f  %.0f samples/s\n", p.Step, p.TotalSteps, p.Epoch, p.Loss, p.SamplesPerS)
	}
	if e := st.Eval; e != nil {
		// Per test sample, or per validation character for a language model.
		fmt.Fprintf(w, "last eval: step %d, accuracy %.2f%%, loss %.4f\n", e.Step, 100*e.Accuracy, e.Loss)
	}
	if r := st.LastRestore; r != nil {
		fmt.Fprintf(w, "resumed %s\n", coordinator.RestoreSummary(r))
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error: %s\n", st.Error)
	}
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tROLE\tSTATE\tRANK\tDATA ADDRESS\tMETRICS\tHOST\tDEVICE\tLAST SEEN")
	for _, m := range st.Members {
		seen := "-"
		if m.LastSeenUnixMs > 0 {
			seen = time.Since(time.UnixMilli(m.LastSeenUnixMs)).Round(100*time.Millisecond).String() + " ago"
		}
		rank := "-"
		if m.Rank >= 0 {
			rank = fmt.Sprint(m.Rank)
		}
		fmt.Fprintf(tw, "%s\tworker\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.WorkerId, m.State, rank, m.DataAddr, m.MetricsAddr, m.Hostname, m.Device, seen)
	}
	tw.Flush()
	ev := st.Events
	if len(ev) > events {
		ev = ev[len(ev)-events:]
	}
	if len(ev) > 0 {
		fmt.Fprintln(w, "recent events:")
		for _, e := range ev {
			fmt.Fprintf(w, "  %s  %-10s %s\n", time.UnixMilli(e.UnixMs).UTC().Format("15:04:05.000"), e.Kind, e.Message)
		}
	}
}
