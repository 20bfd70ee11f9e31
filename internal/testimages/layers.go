package testimages

// layerSpecs make each image's layer above the busybox base from the built
// programs. Programs sit where the real images have them.
var layerSpecs = map[string]func(bins map[string][]byte) ([]entry, error){
	"nginx":   nginxLayer,
	"stress":  stressLayer,
	"testapp": testappLayer,
}

// layerHistory is each layer's created_by, as "docker history" shows it.
var layerHistory = map[string]string{
	"nginx":   "COPY nginx curl apk /usr/sbin/nginx /usr/bin/curl /sbin/apk # with /etc/nginx and the html root",
	"stress":  "COPY stress /usr/local/bin/stress",
	"testapp": "COPY testapp /usr/local/bin/testapp",
}

func nginxLayer(bins map[string][]byte) ([]entry, error) {
	es, err := embedded("nginx")
	if err != nil {
		return nil, err
	}
	alpine, err := alpineEntries(bins["apk"],
		[]string{"alpine-baselayout", "alpine-keys", "apk-tools", "busybox", "ca-certificates-bundle", "curl", "nginx", "tzdata"},
		nginxPackages)
	if err != nil {
		return nil, err
	}
	es = append(es, alpine...)
	es = append(es, passwdFiles(append(baseUsers[:len(baseUsers):len(baseUsers)], nginxUser))...)
	return append(es,
		file("/usr/sbin/nginx", 0o755, bins["nginx"]),
		file("/usr/bin/curl", 0o755, bins["curl"]),
		dir("/etc/nginx/conf.d", 0o755),
		dir("/var/cache/nginx", 0o755),
		dir("/var/log/nginx", 0o755),
		// The image logs to the container's stdout and stderr.
		symlink("/var/log/nginx/access.log", "/dev/stdout"),
		symlink("/var/log/nginx/error.log", "/dev/stderr"),
	), nil
}

func stressLayer(bins map[string][]byte) ([]entry, error) {
	es, err := alpineEntries(bins["apk"],
		[]string{"alpine-baselayout", "alpine-keys", "apk-tools", "busybox", "ca-certificates-bundle", "libstdc++"},
		stressPackages)
	if err != nil {
		return nil, err
	}
	return append(es, file("/usr/local/bin/stress", 0o755, bins["stress"])), nil
}

func testappLayer(bins map[string][]byte) ([]entry, error) {
	return []entry{file("/usr/local/bin/testapp", 0o755, bins["testapp"])}, nil
}
