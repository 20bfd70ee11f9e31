package containers

import "testing"

func TestExpandFollowsKubernetesVariableReferences(t *testing.T) {
	vars := map[string]string{"NAME": "web", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	cases := map[string]string{
		"hello $(NAME)":    "hello web",
		"$(NAME)$(NAME)":   "webweb",
		"$$(NAME)":         "$(NAME)",
		"$(MISSING) stays": "$(MISSING) stays",
		"cost: $5":         "cost: $5",
		"trailing $":       "trailing $",
		"$(NAME":           "$(NAME",
		"empty=$(EMPTY)!":  "empty=!",
		"$()":              "$()",
		"$$$(NAME)":        "$web",
		"no refs at all":   "no refs at all",
	}
	for in, want := range cases {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}
