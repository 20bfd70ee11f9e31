// Package logs reads container logs in the CRI log format for
// `kubectl logs` and termination messages, and encodes records so that the
// runtime that writes them and the agent that reads them agree on it.
//
// A container's stdout and stderr go, one record per line, to
//
//	/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restartCount>.log
//
// as "<RFC 3339 time> <stdout|stderr> <F|P> <content>\n" (see Entry).
//
// ReadLogs follows the kubelet's ReadLogs (pkg/kubelet/kuberuntime/logs,
// now k8s.io/cri-client/pkg/logs) with these deliberate differences:
//
//   - tailLines counts logical lines, a run of P records and their F as
//     one, where the kubelet counts records; `--tail=2` of a long line
//     split by the runtime thus shows two lines, not two fragments.
//   - sinceSeconds/sinceTime keep or drop a whole logical line by the time
//     of its first record, so a line is never printed in part.
//   - stream (Stdout/Stderr) filters records, and tailLines then counts
//     only the selected stream's lines (the API forbids combining the two,
//     but nothing here relies on it).
//   - Without follow the file is read up to its size when opened, so a
//     fast writer cannot keep a one-shot read going.
//   - Only the CRI format is read, not Docker's JSON lines.
//
// Rotation: only the current file is read. A rotated log leaves
// <restartCount>.log.<timestamp> siblings; supporting them means running
// tailStart over the files newest first until it has its lines, then the
// forward reader over the files oldest first from there. Followers already
// watch the directory, so a recreated current file wakes them.
package logs
