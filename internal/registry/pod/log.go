package pod

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericrest "k8s.io/apiserver/pkg/registry/generic/rest"
	"k8s.io/apiserver/pkg/registry/rest"
)

// logREST serves pods/log by streaming the node agent's containerLogs
// endpoint, as kube-apiserver streams the kubelet's.
type logREST struct {
	pods    rest.Getter
	kubelet *KubeletConnection
}

func (r *logREST) New() runtime.Object { return &corev1.Pod{} }
func (r *logREST) Destroy()            {}

func (r *logREST) NewGetOptions() (runtime.Object, bool, string) {
	return &corev1.PodLogOptions{}, false, ""
}

// ProducesMIMETypes and ProducesObject tell OpenAPI the log is plain text.
func (r *logREST) ProducesMIMETypes(verb string) []string {
	return []string{"text/plain", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
}

func (r *logREST) ProducesObject(verb string) interface{} { return "" }

func (r *logREST) Get(ctx context.Context, name string, opts runtime.Object) (runtime.Object, error) {
	logOpts, ok := opts.(*corev1.PodLogOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	container, err := containerFor(pod, logOpts.Container)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	set := func(k string, v bool) {
		if v {
			q.Set(k, "true")
		}
	}
	set("follow", logOpts.Follow)
	set("previous", logOpts.Previous)
	set("timestamps", logOpts.Timestamps)
	if logOpts.SinceSeconds != nil {
		q.Set("sinceSeconds", strconv.FormatInt(*logOpts.SinceSeconds, 10))
	}
	if logOpts.SinceTime != nil {
		q.Set("sinceTime", logOpts.SinceTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if logOpts.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*logOpts.TailLines, 10))
	}
	if logOpts.LimitBytes != nil {
		q.Set("limitBytes", strconv.FormatInt(*logOpts.LimitBytes, 10))
	}
	if logOpts.Stream != nil {
		q.Set("stream", *logOpts.Stream)
	}
	loc, err := r.kubelet.location(ctx, pod, fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container), q)
	if err != nil {
		return nil, err
	}
	return &genericrest.LocationStreamer{
		Location:        loc,
		Transport:       r.kubelet.Transport,
		ContentType:     "text/plain",
		Flush:           logOpts.Follow,
		ResponseChecker: genericrest.NewGenericHttpResponseChecker(corev1.Resource("pods/log"), name),
		RedirectChecker: genericrest.PreventRedirects,
	}, nil
}
