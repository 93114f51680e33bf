//go:build !gpu

package main

import "github.com/spf13/cobra"

// gpuCmds are the verbs only the gpu build has (gpu_cmds_gpu.go): none here.
func gpuCmds(*globals) []*cobra.Command { return nil }
