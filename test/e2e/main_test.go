// Package e2e drives a real orca server with real kubectl (the oldest and
// newest supported versions) and client-go. Each test names what it proves.
package e2e
