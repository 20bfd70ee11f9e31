package e2e

import (
	"os"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readFileErr(path string) (string, error) {
	data, err := os.ReadFile(path)
	return string(data), err
}
