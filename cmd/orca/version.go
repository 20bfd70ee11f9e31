package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/orca-pods/orca/internal/version"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print orca's version and the Kubernetes API version it serves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "orca %s (Kubernetes API %s)\n", version.Version, version.Kubernetes())
			return nil
		},
	}
}
