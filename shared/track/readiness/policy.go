package readiness

import (
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TerminationMode says whether converge waits for an object.
type TerminationMode string

const (
	// TerminationModeWaitUntilReady waits for the object (the default).
	TerminationModeWaitUntilReady TerminationMode = "WaitUntilResourceReady"
	// TerminationModeNonBlocking does not wait for the object, but still shows its progress.
	TerminationModeNonBlocking TerminationMode = "NonBlocking"
)

// FailMode says what a failure of an object does to the deploy.
type FailMode string

const (
	// FailModeFailWholeDeployProcessImmediately stops the deploy at the first failure (the default).
	FailModeFailWholeDeployProcessImmediately FailMode = "FailWholeDeployProcessImmediately"
	// FailModeHopeUntilEndOfDeployProcess keeps waiting until the deploy ends for any other reason.
	FailModeHopeUntilEndOfDeployProcess FailMode = "HopeUntilEndOfDeployProcess"
	// FailModeIgnoreAndContinueDeployProcess turns failures of the object into warnings.
	FailModeIgnoreAndContinueDeployProcess FailMode = "IgnoreAndContinueDeployProcess"
)

// Policy is how one object is tracked, from its annotations.
type Policy struct {
	Termination TerminationMode
	FailMode    FailMode
	// FailuresAllowedPerReplica is the number of container restarts tolerated per pod.
	FailuresAllowedPerReplica int
	// FailuresAllowedSet says werf.io/failures-allowed-per-replica was given: kinds without
	// a default allowance (WithAnnotatedAllowance) get one only then.
	FailuresAllowedSet bool
	// NoActivityTimeout fails the object when nothing progresses for that long; zero: none.
	NoActivityTimeout time.Duration
	// IgnoreProbeFailsFor replaces, per container, the time after its start during which
	// readiness probe failures do not count (kubedog computes it from the probe).
	IgnoreProbeFailsFor map[string]time.Duration
	SkipLogs            bool
	// SkipLogsFor and ShowLogsOnlyFor filter containers by name; ShowLogsOnlyFor empty means all.
	SkipLogsFor     map[string]bool
	ShowLogsOnlyFor map[string]bool
	// LogRegex keeps only matching lines; LogRegexFor overrides it per container.
	LogRegex    *regexp.Regexp
	LogRegexFor map[string]*regexp.Regexp
	// LogRegexSkip drops matching lines; LogRegexSkipFor overrides it per container (nelm).
	LogRegexSkip    *regexp.Regexp
	LogRegexSkipFor map[string]*regexp.Regexp
	// LogReplicas is how many pods of a workload have their logs shown.
	LogReplicas         int
	ShowServiceMessages bool
}

// DefaultPolicy is the policy of an object without tracking annotations.
func DefaultPolicy() Policy {
	return Policy{
		Termination:               TerminationModeWaitUntilReady,
		FailMode:                  FailModeFailWholeDeployProcessImmediately,
		FailuresAllowedPerReplica: 1,
		LogReplicas:               1,
	}
}

// ParsePolicy reads the tracking annotations of an object; an invalid value is an error
// naming the annotation, so that it is rejected before anything is applied.
func ParsePolicy(annotations map[string]string) (Policy, error) {
	p := DefaultPolicy()
	bad := func(key, want string) error {
		return fmt.Errorf("annotation %s: invalid value %q: want %s", key, annotations[key], want)
	}
	for key, value := range annotations {
		var err error
		switch {
		case key == lifecycle.AnnotationTrackTerminationMode:
			switch TerminationMode(value) {
			case TerminationModeWaitUntilReady, TerminationModeNonBlocking:
				p.Termination = TerminationMode(value)
			default:
				return p, bad(key, "WaitUntilResourceReady or NonBlocking")
			}
		case key == lifecycle.AnnotationFailMode:
			switch FailMode(value) {
			case FailModeFailWholeDeployProcessImmediately, FailModeHopeUntilEndOfDeployProcess, FailModeIgnoreAndContinueDeployProcess:
				p.FailMode = FailMode(value)
			default:
				return p, bad(key, "FailWholeDeployProcessImmediately, HopeUntilEndOfDeployProcess or IgnoreAndContinueDeployProcess")
			}
		case key == lifecycle.AnnotationFailuresAllowed:
			if p.FailuresAllowedPerReplica, err = strconv.Atoi(value); err != nil || p.FailuresAllowedPerReplica < 0 {
				return p, bad(key, "a whole number of 0 or more")
			}
			p.FailuresAllowedSet = true
		case key == lifecycle.AnnotationNoActivityTimeout:
			if p.NoActivityTimeout, err = time.ParseDuration(value); err != nil || p.NoActivityTimeout <= 0 {
				return p, bad(key, "a positive duration such as 4m")
			}
		case strings.HasPrefix(key, lifecycle.AnnotationIgnoreProbeFailsPrefix):
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return p, bad(key, "a duration such as 30s")
			}
			if p.IgnoreProbeFailsFor == nil {
				p.IgnoreProbeFailsFor = map[string]time.Duration{}
			}
			p.IgnoreProbeFailsFor[strings.TrimPrefix(key, lifecycle.AnnotationIgnoreProbeFailsPrefix)] = d
		case key == lifecycle.AnnotationLogRegex:
			if p.LogRegex, err = regexp.Compile(value); err != nil {
				return p, bad(key, "a regular expression")
			}
		case strings.HasPrefix(key, lifecycle.AnnotationLogRegexForPrefix):
			re, err := regexp.Compile(value)
			if err != nil {
				return p, bad(key, "a regular expression")
			}
			if p.LogRegexFor == nil {
				p.LogRegexFor = map[string]*regexp.Regexp{}
			}
			p.LogRegexFor[strings.TrimPrefix(key, lifecycle.AnnotationLogRegexForPrefix)] = re
		case strings.HasPrefix(key, lifecycle.AnnotationLogRegexSkipForPrefix):
			re, err := regexp.Compile(value)
			if err != nil {
				return p, bad(key, "a regular expression")
			}
			if p.LogRegexSkipFor == nil {
				p.LogRegexSkipFor = map[string]*regexp.Regexp{}
			}
			p.LogRegexSkipFor[strings.TrimPrefix(key, lifecycle.AnnotationLogRegexSkipForPrefix)] = re
		case key == lifecycle.AnnotationLogRegexSkip:
			if p.LogRegexSkip, err = regexp.Compile(value); err != nil {
				return p, bad(key, "a regular expression")
			}
		case key == lifecycle.AnnotationSkipLogs:
			if p.SkipLogs, err = strconv.ParseBool(value); err != nil {
				return p, bad(key, "true or false")
			}
		case key == lifecycle.AnnotationSkipLogsForContainers:
			p.SkipLogsFor = nameSet(value)
		case key == lifecycle.AnnotationShowLogsOnlyFor:
			p.ShowLogsOnlyFor = nameSet(value)
		case key == lifecycle.AnnotationShowLogsForReplicas:
			if p.LogReplicas, err = strconv.Atoi(value); err != nil || p.LogReplicas < 0 {
				return p, bad(key, "a whole number of 0 or more")
			}
		case key == lifecycle.AnnotationShowServiceMessages:
			if p.ShowServiceMessages, err = strconv.ParseBool(value); err != nil {
				return p, bad(key, "true or false")
			}
		}
	}
	return p, nil
}

func nameSet(list string) map[string]bool {
	out := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out[n] = true
		}
	}
	return out
}

// ShowLogsOf reports whether logs of the container are shown.
func (p Policy) ShowLogsOf(container string) bool {
	if p.SkipLogs || p.SkipLogsFor[container] {
		return false
	}
	return len(p.ShowLogsOnlyFor) == 0 || p.ShowLogsOnlyFor[container]
}

// KeepLine applies the log regex annotations to one line of a container.
func (p Policy) KeepLine(container, line string) bool {
	skip := p.LogRegexSkip
	if re, ok := p.LogRegexSkipFor[container]; ok {
		skip = re
	}
	if skip != nil && skip.MatchString(line) {
		return false
	}
	if re, ok := p.LogRegexFor[container]; ok {
		return re.MatchString(line)
	}
	return p.LogRegex == nil || p.LogRegex.MatchString(line)
}
