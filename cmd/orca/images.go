package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/orca-pods/orca/internal/images"
)

// newImagesCommand is `orca images`: the node image store under
// <data-dir>/images/store, the same one the agent pulls into; tarballs
// dropped in <data-dir>/images/ are imported by the agent when it starts.
func newImagesCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Import and list images in the node's image store",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "/var/lib/orca", "orca data directory; the store is <data-dir>/images/store")
	open := func() (*images.Store, error) {
		return images.New(images.Config{Root: images.DefaultRoot(dataDir), Logger: slog.Default()})
	}

	cmd.AddCommand(&cobra.Command{
		Use:   "import FILE...",
		Short: "Import docker-archive (docker save) or OCI-archive tarballs",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			for _, p := range args {
				imgs, err := s.Import(cmd.Context(), p)
				if err != nil {
					return err
				}
				for _, img := range imgs {
					n := img.Name
					if n == "" {
						n = "<none>"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "imported %s (%s)\n", n, shortID(img.ID))
				}
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List images, like crictl images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return err
			}
			return printImages(cmd.OutOrStdout(), list)
		},
	})
	return cmd
}

// printImages prints one row per tag, as crictl does; an untagged image
// shows the repository of its repo digest (or <none>) and tag <none>.
func printImages(out io.Writer, list []*images.Image) error {
	w := tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, img := range list {
		size := units.HumanSizeWithPrecision(float64(img.Size), 3)
		for _, row := range repoTags(img) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", row[0], row[1], shortID(img.ID), size)
		}
	}
	return w.Flush()
}

func repoTags(img *images.Image) [][2]string {
	var rows [][2]string
	for _, n := range img.Names {
		repo, tag := images.SplitName(n)
		rows = append(rows, [2]string{repo, tag})
	}
	if len(rows) > 0 {
		return rows
	}
	if img.RepoDigest != "" {
		repo, _ := images.SplitName(img.RepoDigest)
		return [][2]string{{repo, "<none>"}}
	}
	return [][2]string{{"<none>", "<none>"}}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
