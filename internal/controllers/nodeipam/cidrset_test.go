package nodeipam

import (
	"errors"
	"net"
	"reflect"
	"testing"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, c, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCIDRSetIndexesOfNodeCIDRs(t *testing.T) {
	s, err := newCIDRSet(cidr(t, "10.42.0.0/16"), 24)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cidr string
		want []int
	}{
		{"10.42.0.0/24", []int{0}},
		{"10.42.7.0/24", []int{7}},
		{"10.42.255.0/24", []int{255}},
		{"10.42.4.0/23", []int{4, 5}},
		{"10.42.9.128/25", []int{9}},
		{"10.43.0.0/24", nil},
		{"10.0.0.0/8", func() []int {
			all := make([]int, 256)
			for i := range all {
				all[i] = i
			}
			return all
		}()},
		{"fd00::/64", nil},
	}
	for _, tc := range cases {
		if got := s.indexes(cidr(t, tc.cidr)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("indexes(%s) = %v, want %v", tc.cidr, got, tc.want)
		}
	}
}

func TestCIDRSetAllocatesLowestFreeThenRoundRobin(t *testing.T) {
	s, _ := newCIDRSet(cidr(t, "10.42.0.0/22"), 24) // four subnets
	s.occupy("existing", cidr(t, "10.42.1.0/24"))
	var got []string
	for _, node := range []string{"a", "b", "c"} {
		c, err := s.allocate(node)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.String())
	}
	if want := []string{"10.42.0.0/24", "10.42.2.0/24", "10.42.3.0/24"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	if _, err := s.allocate("d"); !errors.Is(err, errNoCIDR) {
		t.Fatalf("allocate on a full set: %v", err)
	}
	if c, _ := s.allocate("b"); c.String() != "10.42.2.0/24" {
		t.Fatalf("b asked again and got %s, want its reservation 10.42.2.0/24", c)
	}
	s.release("a")
	if c, err := s.allocate("d"); err != nil || c.String() != "10.42.0.0/24" {
		t.Fatalf("after releasing a: %v, %v", c, err)
	}
}

func TestCIDRSetReportsOverlapAndKeepsTheFirstOwner(t *testing.T) {
	s, _ := newCIDRSet(cidr(t, "10.42.0.0/16"), 24)
	if others := s.occupy("a", cidr(t, "10.42.0.0/24")); others != nil {
		t.Fatalf("conflicts %v on a free subnet", others)
	}
	if others := s.occupy("a", cidr(t, "10.42.0.0/24")); others != nil {
		t.Fatalf("occupying again conflicts with %v", others)
	}
	if others := s.occupy("b", cidr(t, "10.42.0.0/23")); !reflect.DeepEqual(others, []string{"a"}) {
		t.Fatalf("overlap reported %v, want [a]", others)
	}
	s.release("b")
	if s.owner[0] != "a" {
		t.Fatalf("releasing b freed a's subnet")
	}
}

func TestCIDRSetReleaseExceptDropsAStaleReservation(t *testing.T) {
	s, _ := newCIDRSet(cidr(t, "10.42.0.0/16"), 24)
	s.allocate("a") // reserved 10.42.0.0/24
	// Someone else gave a 10.42.5.0/24.
	s.occupy("a", cidr(t, "10.42.5.0/24"))
	s.releaseExcept("a", s.indexes(cidr(t, "10.42.5.0/24")))
	if _, taken := s.owner[0]; taken {
		t.Fatal("stale reservation 10.42.0.0/24 kept")
	}
	if s.owner[5] != "a" {
		t.Fatal("a lost the subnet its spec names")
	}
}

func TestNewCIDRSetRejectsBadSizes(t *testing.T) {
	for _, tc := range []struct {
		cluster string
		mask    int
	}{
		{"10.42.0.0/16", 8},
		{"10.42.0.0/16", 31},
		{"fd00::/48", 64},
		{"10.0.0.0/8", 30},
	} {
		if _, err := newCIDRSet(cidr(t, tc.cluster), tc.mask); err == nil {
			t.Errorf("newCIDRSet(%s, %d) accepted", tc.cluster, tc.mask)
		}
	}
}
