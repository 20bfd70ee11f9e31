package validation

import (
	"encoding/json"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateConfigMap validates a ConfigMap: keys usable as file names, no
// key in both data and binaryData, and at most 1MiB of values (etcd limit).
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	allErrs := validateObjectMeta(&cm.ObjectMeta, true, validateConfigMapName, field.NewPath("metadata"))
	totalSize := 0
	for _, key := range sets.List(sets.KeySet(cm.Data)) {
		keyPath := field.NewPath("data").Key(key)
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(keyPath, key, msg))
		}
		if _, dup := cm.BinaryData[key]; dup {
			allErrs = append(allErrs, field.Invalid(keyPath, key, "duplicate of key present in binaryData"))
		}
		totalSize += len(cm.Data[key])
	}
	for _, key := range sets.List(sets.KeySet(cm.BinaryData)) {
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		totalSize += len(cm.BinaryData[key])
	}
	if totalSize > corev1.MaxSecretSize {
		// An empty path: the limit applies to the object as a whole.
		allErrs = append(allErrs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return allErrs
}

// ValidateConfigMapUpdate additionally freezes immutable ConfigMaps.
func ValidateConfigMapUpdate(newCM, oldCM *corev1.ConfigMap) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newCM.ObjectMeta, &oldCM.ObjectMeta, field.NewPath("metadata"))
	if oldCM.Immutable != nil && *oldCM.Immutable {
		allErrs = append(allErrs, validateImmutableFlag(newCM.Immutable)...)
		if !reflect.DeepEqual(newCM.Data, oldCM.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !reflect.DeepEqual(newCM.BinaryData, oldCM.BinaryData) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return append(allErrs, ValidateConfigMap(newCM)...)
}

// validateImmutableFlag: once immutable, always immutable.
func validateImmutableFlag(newImmutable *bool) field.ErrorList {
	if newImmutable == nil || !*newImmutable {
		return field.ErrorList{field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set")}
	}
	return nil
}

// ValidateSecret validates a Secret, including the keys its type requires.
// stringData has already been merged into data when this runs.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	allErrs := validateObjectMeta(&s.ObjectMeta, true, validateSecretName, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	totalSize := 0
	for _, key := range sets.List(sets.KeySet(s.Data)) {
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(dataPath.Key(key), key, msg))
		}
		totalSize += len(s.Data[key])
	}
	if totalSize > corev1.MaxSecretSize {
		allErrs = append(allErrs, field.TooLong(dataPath, "", corev1.MaxSecretSize))
	}

	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		// Only the account name is required up front; the token controller
		// fills in the uid annotation and the token later.
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			allErrs = append(allErrs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeOpaque, "":
	case corev1.SecretTypeDockercfg:
		allErrs = append(allErrs, validateJSONSecretKey(s.Data, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		allErrs = append(allErrs, validateJSONSecretKey(s.Data, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		// Either may be empty, but at least one key must be present.
		_, hasUser := s.Data[corev1.BasicAuthUsernameKey]
		_, hasPassword := s.Data[corev1.BasicAuthPasswordKey]
		if !hasUser && !hasPassword {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""))
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return allErrs
}

// validateJSONSecretKey requires key to be present and hold a JSON object;
// the value is redacted from the error.
func validateJSONSecretKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	raw, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(raw, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

// ValidateSecretUpdate: the type never changes (consumers rely on its
// keys) and immutable secrets are frozen.
func ValidateSecretUpdate(newSecret, oldSecret *corev1.Secret) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newSecret.ObjectMeta, &oldSecret.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateImmutableField(newSecret.Type, oldSecret.Type, field.NewPath("type"))...)
	if oldSecret.Immutable != nil && *oldSecret.Immutable {
		allErrs = append(allErrs, validateImmutableFlag(newSecret.Immutable)...)
		if !reflect.DeepEqual(newSecret.Data, oldSecret.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return append(allErrs, ValidateSecret(newSecret)...)
}

// ValidateServiceAccount validates a ServiceAccount (metadata only, like
// upstream; secret references are not checked).
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return validateObjectMeta(&sa.ObjectMeta, true, validateServiceAccountName, field.NewPath("metadata"))
}

// ValidateServiceAccountUpdate validates a ServiceAccount update.
func ValidateServiceAccountUpdate(newSA, oldSA *corev1.ServiceAccount) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&newSA.ObjectMeta, &oldSA.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, ValidateServiceAccount(newSA)...)
}

// ValidateNamespace validates a namespace: a DNS label name (it becomes part
// of DNS names) and well-formed spec finalizers.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	allErrs := validateObjectMeta(&ns.ObjectMeta, false, validateNamespaceName, field.NewPath("metadata"))
	for _, f := range ns.Spec.Finalizers {
		// Upstream uses the list path without an index.
		allErrs = append(allErrs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return allErrs
}

// ValidateNamespaceUpdate validates a namespace update. Like upstream it
// checks only metadata: spec finalizers change through /finalize and the
// status through /status.
func ValidateNamespaceUpdate(newNS, oldNS *corev1.Namespace) field.ErrorList {
	return validateObjectMetaUpdate(&newNS.ObjectMeta, &oldNS.ObjectMeta, field.NewPath("metadata"))
}
