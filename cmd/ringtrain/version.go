package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ringtrain/ringtrain/internal/buildinfo"
	"github.com/ringtrain/ringtrain/model"
)

func newVersionCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(struct {
					buildinfo.Info
					BLAS string `json:"blas"`
				}{info, model.BLAS})
			}
			commit := info.Commit
			if commit == "" {
				commit = "unknown"
			}
			_, err := fmt.Fprintf(g.stdout, "ringtrain %s (commit %s, %s, %s, %s BLAS)\n", info.Version, commit, info.GoVersion, info.Platform, model.BLAS)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
