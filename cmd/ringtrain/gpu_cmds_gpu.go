//go:build gpu

package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ringtrain/ringtrain/model/device"
	"github.com/ringtrain/ringtrain/model/device/cuda"
	"github.com/spf13/cobra"
)

// gpuCmds are the verbs only the gpu build has.
func gpuCmds(g *globals) []*cobra.Command { return []*cobra.Command{newGPUInfoCmd(g)} }

func newGPUInfoCmd(g *globals) *cobra.Command {
	var ordinal int
	cmd := &cobra.Command{
		Use:   "gpu-info",
		Short: "Open a GPU, load every kernel and copy a buffer through it (gpu build only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := cuda.Open(ordinal)
			if err != nil {
				return err
			}
			err = roundTrip(d, 16<<20)
			if cerr := d.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", d.Name(), err)
			}
			mods, err := device.Modules()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "%s: %d kernels of %d PTX modules loaded, 16 MiB copied in and out\n", d.Name(), len(device.Kernels()), len(mods))
			return err
		},
	}
	cmd.Flags().IntVar(&ordinal, "ordinal", 0, "which GPU (0 is the first this process sees)")
	return cmd
}

// roundTrip copies n bytes of a pattern to d and back and compares.
func roundTrip(d device.Device, n int) error {
	buf, err := d.Alloc(n)
	if err != nil {
		return err
	}
	src := make([]byte, n)
	for i := range src {
		src[i] = byte(i*31 + 7)
	}
	got := make([]byte, n)
	err = errors.Join(d.CopyIn(buf, src), d.CopyOut(got, buf), d.Free(buf))
	if err == nil && !bytes.Equal(got, src) {
		err = errors.New("the bytes copied out differ from those copied in")
	}
	return err
}
