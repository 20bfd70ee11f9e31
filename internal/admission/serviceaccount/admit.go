package serviceaccount

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/admission"
)

// Admit fills in a created pod's service account, API token volume and
// image pull secrets, then runs Validate so the pod it leaves is one
// Validate accepts.
func (s *Plugin) Admit(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod := podFor(a)
	if pod == nil || a.GetOperation() != admission.Create {
		return nil
	}
	// A mirror pod's spec must stay exactly as the kubelet wrote it, or the
	// kubelet finds it differs from the static pod and deletes it.
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return s.Validate(ctx, a, o)
	}
	if err := s.waitForReady(a); err != nil {
		return err
	}

	// Decoding already defaults this; repeating it keeps the plugin correct
	// on its own, and is a no-op otherwise.
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = defaultServiceAccountName
		// Upstream writes the deprecated alias from serviceAccountName when
		// it converts to v1; orca stores v1 directly, so keep it in step.
		pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	}

	sa, err := s.getServiceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}

	if s.MountServiceAccountToken && shouldAutomount(sa, pod) {
		s.mountServiceAccountToken(pod)
	}

	// A pod that lists no pull secrets uses its account's. Only the names
	// are copied: LocalObjectReference may gain fields the pod should not
	// inherit.
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = make([]corev1.LocalObjectReference, len(sa.ImagePullSecrets))
		for i, ref := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets[i].Name = ref.Name
		}
	}
	return s.Validate(ctx, a, o)
}

// Validate checks a created pod's references against its service account,
// and the secrets new ephemeral containers reference.
func (s *Plugin) Validate(ctx context.Context, a admission.Attributes, o admission.ObjectInterfaces) error {
	pod := podFor(a)
	if pod == nil {
		return nil
	}
	isEphemeral := a.GetOperation() == admission.Update && a.GetSubresource() == "ephemeralcontainers"
	if !isEphemeral && a.GetOperation() != admission.Create {
		// Everything checked here is immutable after create.
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror && !isEphemeral {
		return validateMirrorPod(a, pod)
	}
	if err := s.waitForReady(a); err != nil {
		return err
	}

	// Admit names an account; only a later mutating plugin could clear it.
	if pod.Spec.ServiceAccountName == "" {
		return admission.NewForbidden(a, fmt.Errorf("no service account specified for pod %s/%s", a.GetNamespace(), pod.Name))
	}
	sa, err := s.getServiceAccount(ctx, a.GetNamespace(), pod.Spec.ServiceAccountName)
	if err != nil {
		return admission.NewForbidden(a, fmt.Errorf("error looking up service account %s/%s: %v", a.GetNamespace(), pod.Spec.ServiceAccountName, err))
	}
	if !s.enforceMountableSecrets(sa) {
		return nil
	}
	if isEphemeral {
		// Upstream returns this one unwrapped (a 500, not a 403); kept so.
		return limitEphemeralContainerSecretReferences(sa, pod)
	}
	if err := limitSecretReferences(sa, pod); err != nil {
		return admission.NewForbidden(a, err)
	}
	return nil
}

// validateMirrorPod refuses mirror pods that use a service account, a
// secret, or a projected token: the kubelet creates them from static
// manifests on its own authority, and such pods would let a node reach
// credentials the API server never checked it may read.
func validateMirrorPod(a admission.Attributes, pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" {
		return admission.NewForbidden(a, fmt.Errorf("a mirror pod may not reference service accounts"))
	}
	if referencesSecrets(pod) {
		return admission.NewForbidden(a, fmt.Errorf("a mirror pod may not reference secrets"))
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, source := range v.Projected.Sources {
			if source.ServiceAccountToken != nil {
				return admission.NewForbidden(a, fmt.Errorf("a mirror pod may not use ServiceAccountToken volume projections"))
			}
		}
	}
	return nil
}
