package apiserver

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
)

// addOptionConversions registers how the query string of the pod and node
// subresources (log, exec, attach, portforward, proxy) decodes into their
// option types. Kubernetes generates these functions inside k8s.io/kubernetes;
// here one reflective decoder driven by the json tags serves all of them.
func addOptionConversions(scheme *runtime.Scheme) error {
	for _, obj := range []runtime.Object{
		&corev1.PodLogOptions{}, &corev1.PodExecOptions{}, &corev1.PodAttachOptions{},
		&corev1.PodPortForwardOptions{}, &corev1.PodProxyOptions{}, &corev1.NodeProxyOptions{},
	} {
		if err := scheme.AddConversionFunc((*url.Values)(nil), obj, func(a, b interface{}, _ conversion.Scope) error {
			return decodeQuery(*a.(*url.Values), b)
		}); err != nil {
			return err
		}
	}
	return nil
}

var timeType = reflect.TypeOf(metav1.Time{})

func decodeQuery(values url.Values, into interface{}) error {
	v := reflect.ValueOf(into).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue // embedded TypeMeta
		}
		raw, ok := values[name]
		if !ok || len(raw) == 0 {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return fmt.Errorf("query parameter %q: %w", name, err)
		}
	}
	return nil
}

func setField(field reflect.Value, raw []string) error {
	ft := field.Type()
	if ft.Kind() == reflect.Slice {
		out := reflect.MakeSlice(ft, len(raw), len(raw))
		for i, s := range raw {
			if err := setScalar(out.Index(i), s); err != nil {
				return err
			}
		}
		field.Set(out)
		return nil
	}
	s := raw[len(raw)-1]
	if ft.Kind() == reflect.Pointer {
		p := reflect.New(ft.Elem())
		if err := setScalar(p.Elem(), s); err != nil {
			return err
		}
		field.Set(p)
		return nil
	}
	return setScalar(field, s)
}

func setScalar(field reflect.Value, s string) error {
	if field.Type() == timeType {
		var t metav1.Time
		if err := t.UnmarshalQueryParameter(s); err != nil {
			return err
		}
		field.Set(reflect.ValueOf(t))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(s)
	case reflect.Bool:
		// As Kubernetes: anything but "false" or "0" turns a flag on.
		field.SetBool(!strings.EqualFold(s, "false") && s != "0")
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		field.SetInt(n)
	default:
		return fmt.Errorf("unsupported field type %s", field.Type())
	}
	return nil
}
