package volumes

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// The default of every defaultMode (corev1.*VolumeSourceDefaultMode).
const defaultFileMode int32 = 0o644

func modeOr(mode *int32, def int32) int32 {
	if mode != nil {
		return *mode
	}
	return def
}

// collect builds the payload of a projection volume.
func (m *Manager) collect(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume) (map[string]fileProjection, error) {
	switch src := &vol.VolumeSource; {
	case src.ConfigMap != nil:
		s := src.ConfigMap
		optional := s.Optional != nil && *s.Optional
		cm, err := m.configMap(ctx, pod.Namespace, s.Name, optional)
		if err != nil {
			return nil, err
		}
		return configMapPayload(s.Items, cm, modeOr(s.DefaultMode, defaultFileMode), optional)
	case src.Secret != nil:
		s := src.Secret
		optional := s.Optional != nil && *s.Optional
		secret, err := m.secret(ctx, pod.Namespace, s.SecretName, optional)
		if err != nil {
			return nil, err
		}
		return secretPayload(s.Items, secret, modeOr(s.DefaultMode, defaultFileMode), optional)
	case src.DownwardAPI != nil:
		s := src.DownwardAPI
		return downwardAPIPayload(s.Items, pod, modeOr(s.DefaultMode, defaultFileMode), m.nodeAllocatable())
	case src.Projected != nil:
		return m.projectedPayload(ctx, pod, src.Projected)
	}
	return nil, fmt.Errorf("volume %q is not a configMap, secret, downwardAPI or projected volume", vol.Name)
}

// projectedPayload merges the sources in order (a later source wins a
// shared path) and reports every failing source, as the kubelet does.
func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource) (map[string]fileProjection, error) {
	defaultMode := modeOr(p.DefaultMode, defaultFileMode)
	out := map[string]fileProjection{}
	var errs []error
	add := func(part map[string]fileProjection, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, v := range part {
			out[k] = v
		}
	}
	for i := range p.Sources {
		src := &p.Sources[i]
		switch {
		case src.ConfigMap != nil:
			s := src.ConfigMap
			optional := s.Optional != nil && *s.Optional
			cm, err := m.configMap(ctx, pod.Namespace, s.Name, optional)
			if err != nil {
				add(nil, err)
				continue
			}
			add(configMapPayload(s.Items, cm, defaultMode, optional))
		case src.Secret != nil:
			s := src.Secret
			optional := s.Optional != nil && *s.Optional
			secret, err := m.secret(ctx, pod.Namespace, s.Name, optional)
			if err != nil {
				add(nil, err)
				continue
			}
			add(secretPayload(s.Items, secret, defaultMode, optional))
		case src.DownwardAPI != nil:
			add(downwardAPIPayload(src.DownwardAPI.Items, pod, defaultMode, m.nodeAllocatable()))
		case src.ServiceAccountToken != nil:
			add(m.tokenPayload(ctx, pod, src.ServiceAccountToken, defaultMode))
		case src.ClusterTrustBundle != nil:
			add(nil, errors.New("projected volume source clusterTrustBundle is not supported yet"))
		case src.PodCertificate != nil:
			add(nil, errors.New("projected volume source podCertificate is not supported yet"))
		}
	}
	return out, utilerrors.NewAggregate(errs)
}

// tokenPayload projects a service account token. As in the kubelet, the
// token is 0600 whenever an fsUser or fsGroup will own it (fsGroup then
// widens it to 0640), and is owned by the pod's single runAsUser if any.
func (m *Manager) tokenPayload(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection, defaultMode int32) (map[string]fileProjection, error) {
	if m.cfg.TokenSource == nil {
		return nil, errors.New("projected volume source serviceAccountToken is not supported yet")
	}
	token, err := m.cfg.TokenSource(ctx, pod, src)
	if err != nil {
		return nil, err
	}
	fsUser := fsUserFrom(pod)
	mode := defaultMode
	if fsUser != nil || fsGroup(pod) != nil {
		mode = 0o600
	}
	return map[string]fileProjection{src.Path: {data: token, mode: mode, fsUser: fsUser}}, nil
}

// configMap fetches a ConfigMap; a missing optional one reads as empty.
// NotFound is reported with the kubelet's wording, `configmap "x" not
// found` (its object cache names the resource in the singular).
func (m *Manager) configMap(ctx context.Context, ns, name string, optional bool) (*corev1.ConfigMap, error) {
	if m.cfg.ConfigMaps == nil {
		return nil, errors.New("no ConfigMap source configured")
	}
	cm, err := m.cfg.ConfigMaps(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err) && optional:
		return &corev1.ConfigMap{}, nil
	case apierrors.IsNotFound(err):
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmap"}, name)
	case err != nil:
		return nil, fmt.Errorf("couldn't get configMap %s/%s: %w", ns, name, err)
	case cm == nil:
		return nil, fmt.Errorf("couldn't get configMap %s/%s: no object returned", ns, name)
	}
	return cm, nil
}

// secret fetches a Secret, like configMap.
func (m *Manager) secret(ctx context.Context, ns, name string, optional bool) (*corev1.Secret, error) {
	if m.cfg.Secrets == nil {
		return nil, errors.New("no Secret source configured")
	}
	s, err := m.cfg.Secrets(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err) && optional:
		return &corev1.Secret{}, nil
	case apierrors.IsNotFound(err):
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secret"}, name)
	case err != nil:
		return nil, fmt.Errorf("couldn't get secret %s/%s: %w", ns, name, err)
	case s == nil:
		return nil, fmt.Errorf("couldn't get secret %s/%s: no object returned", ns, name)
	}
	return s, nil
}

// configMapPayload is the kubelet's configmap.MakePayload: without items
// every key of data and binaryData is a file; with items only those, at
// their paths and modes. A missing key is skipped when optional.
func configMapPayload(items []corev1.KeyToPath, cm *corev1.ConfigMap, defaultMode int32, optional bool) (map[string]fileProjection, error) {
	out := make(map[string]fileProjection, len(cm.Data)+len(cm.BinaryData))
	if len(items) == 0 {
		for k, v := range cm.Data {
			out[k] = fileProjection{data: []byte(v), mode: defaultMode}
		}
		for k, v := range cm.BinaryData {
			out[k] = fileProjection{data: v, mode: defaultMode}
		}
		return out, nil
	}
	for _, it := range items {
		var data []byte
		if v, ok := cm.Data[it.Key]; ok {
			data = []byte(v)
		} else if v, ok := cm.BinaryData[it.Key]; ok {
			data = v
		} else if optional {
			continue
		} else {
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		out[it.Path] = fileProjection{data: data, mode: modeOr(it.Mode, defaultMode)}
	}
	return out, nil
}

// secretPayload is the kubelet's secret.MakePayload; note its error text
// has no "secret" prefix, unlike the ConfigMap one.
func secretPayload(items []corev1.KeyToPath, s *corev1.Secret, defaultMode int32, optional bool) (map[string]fileProjection, error) {
	out := make(map[string]fileProjection, len(s.Data))
	if len(items) == 0 {
		for k, v := range s.Data {
			out[k] = fileProjection{data: v, mode: defaultMode}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := s.Data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		out[it.Path] = fileProjection{data: v, mode: modeOr(it.Mode, defaultMode)}
	}
	return out, nil
}

// fsGroup is the group the kubelet gives the pod's volumes.
func fsGroup(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// fsUserFrom is the kubelet's FsUserFrom: the effective runAsUser shared
// by every init and regular container, or nil if any has none or they
// differ.
func fsUserFrom(pod *corev1.Pod) *int64 {
	var podUser *int64
	if sc := pod.Spec.SecurityContext; sc != nil {
		podUser = sc.RunAsUser
	}
	var user *int64
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			u := podUser
			if sc := cs[i].SecurityContext; sc != nil && sc.RunAsUser != nil {
				u = sc.RunAsUser
			}
			if u == nil || (user != nil && *user != *u) {
				return nil
			}
			user = u
		}
	}
	return user
}
