package kuberetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// failureKind says what a failed request may have done.
type failureKind int

const (
	// answered: the API server answered (or the caller gave up): the answer is returned.
	answered failureKind = iota
	// notProcessed: the request certainly was not acted on (connection refused, TLS
	// handshake, 429, 503): it is sent again whatever it does.
	notProcessed
	// maybeProcessed: the request may have been acted on before its answer was lost
	// (connection reset, EOF, 502, 504, etcd's 500s): reads and idempotent writes are sent
	// again, a create or a delete is checked against the live object first.
	maybeProcessed
)

type failure struct {
	kind failureKind
	// outage: the failure says the API server cannot be reached (429 says it is busy).
	outage bool
	// unheard: nothing came from the API server itself (a connection failure, an empty
	// answer of something before it): it is out of reach, whatever the request's path.
	unheard bool
	// cause is the failure in a few words, for the "unreachable" line.
	cause string
}

// classify tells an answer from a transient failure; a transient answer's body is read into
// memory so that it can be returned after later attempts.
func classify(resp *http.Response, err error) failure {
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return failure{kind: answered}
		case errors.Is(err, syscall.ECONNREFUSED):
			return failure{kind: notProcessed, outage: true, unheard: true, cause: "connection refused"}
		case strings.Contains(err.Error(), "TLS handshake"), isDial(err):
			return failure{kind: notProcessed, outage: true, unheard: true, cause: causeOf(err)}
		case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
			utilnet.IsProbableEOF(err), strings.Contains(err.Error(), "http2: client connection lost"), isTimeout(err):
			return failure{kind: maybeProcessed, outage: true, unheard: true, cause: causeOf(err)}
		}
		return failure{kind: answered}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		keepBody(resp)
		return failure{kind: notProcessed, cause: resp.Status}
	case http.StatusServiceUnavailable:
		return failure{kind: notProcessed, outage: true, unheard: empty(keepBody(resp)), cause: resp.Status}
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return failure{kind: maybeProcessed, outage: true, unheard: empty(keepBody(resp)), cause: resp.Status}
	case http.StatusInternalServerError:
		body := keepBody(resp)
		if empty(body) {
			// The API server answers every error with a Status: an empty 500 comes from
			// something before it that lost it (a proxy, a server not yet started).
			return failure{kind: maybeProcessed, outage: true, unheard: true, cause: resp.Status}
		}
		// etcd between leaders, or not answering the API server: worth waiting for. Other
		// 500s (a webhook's error, a bug) are answers.
		for _, transient := range []string{"etcdserver: ", "code = Unavailable"} {
			if bytes.Contains(body, []byte(transient)) {
				return failure{kind: maybeProcessed, outage: true, cause: statusMessage(body, resp.Status)}
			}
		}
	}
	return failure{kind: answered}
}

// empty says an answer's body says nothing: the API server's own errors are Statuses.
func empty(body []byte) bool { return len(bytes.TrimSpace(body)) == 0 }

func isDial(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// causeOf is a network error without the request it failed ("Get https://...: dial tcp
// ...: connect: connection refused" is "connection refused").
func causeOf(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// statusMessage is the message of a Kubernetes Status body, else fallback.
func statusMessage(body []byte, fallback string) string {
	var status struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &status) == nil && status.Message != "" {
		return status.Message
	}
	return fallback
}

// keepBody reads an answer's body into memory (up to 1 MiB) and leaves it readable.
func keepBody(resp *http.Response) []byte {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return data
}

// opKind says how a request may be sent again.
type opKind int

const (
	// opIdempotent: reads, updates, patches, deletions of collections, creates that persist
	// nothing (access reviews) or act on a subresource: sent again as they are.
	opIdempotent opKind = iota
	// opCreate: a create of a named object, checked by reading it.
	opCreate
	// opDelete: a deletion of one object, checked by reading it.
	opDelete
	// opUncheckable: a create whose name the server chooses (generateName), or whose body
	// is not JSON: not sent twice when its answer may have been lost.
	opUncheckable
)

type operation struct {
	kind opKind
	// object is the URL path of the object a create makes or a delete removes.
	object string
	// manager is the field manager a create writes as.
	manager string
}

func (op operation) checkable() bool { return op.kind == opCreate || op.kind == opDelete }

// raced says whether resp, the answer to a create or delete sent again after a lost answer,
// is what the first attempt having taken effect looks like: AlreadyExists, NotFound.
func (op operation) raced(resp *http.Response) bool {
	return op.kind == opCreate && resp.StatusCode == http.StatusConflict || op.kind == opDelete && resp.StatusCode == http.StatusNotFound
}

// operationOf reads what req does from its method, path and body.
func operationOf(req *http.Request) operation {
	switch req.Method {
	case http.MethodPost, http.MethodDelete:
	default:
		return operation{kind: opIdempotent}
	}
	parts, ok := resourcePath(req.URL.Path)
	if !ok {
		return operation{kind: opIdempotent}
	}
	if req.Method == http.MethodDelete {
		if len(parts) == 2 {
			return operation{kind: opDelete, object: req.URL.Path}
		}
		return operation{kind: opIdempotent}
	}
	if len(parts) != 1 {
		return operation{kind: opIdempotent}
	}
	data, err := readBody(req)
	if err != nil {
		return operation{kind: opUncheckable}
	}
	name, generateName, ok := namesOf(data)
	if !ok {
		return operation{kind: opUncheckable}
	}
	switch {
	case name != "":
		manager := req.URL.Query().Get("fieldManager")
		if manager == "" {
			// The API server's own choice when a request names no manager.
			manager, _, _ = strings.Cut(req.Header.Get("User-Agent"), "/")
		}
		return operation{kind: opCreate, object: strings.TrimSuffix(req.URL.Path, "/") + "/" + name, manager: manager}
	case generateName != "":
		return operation{kind: opUncheckable}
	}
	return operation{kind: opIdempotent}
}

// protobufMagic starts a Kubernetes protobuf body (what typed clientsets send).
var protobufMagic = []byte("k8s\x00")

// namesOf reads metadata.name and metadata.generateName of a JSON or Kubernetes protobuf
// body; false when it is neither.
func namesOf(data []byte) (name, generateName string, ok bool) {
	if !bytes.HasPrefix(data, protobufMagic) {
		var body struct {
			Metadata struct {
				Name         string `json:"name"`
				GenerateName string `json:"generateName"`
			} `json:"metadata"`
		}
		if json.Unmarshal(data, &body) != nil {
			return "", "", false
		}
		return body.Metadata.Name, body.Metadata.GenerateName, true
	}
	// runtime.Unknown{raw: 2} holds the object, whose field 1 is its ObjectMeta
	// {name: 1, generateName: 2}.
	raw, ok := protoField(data[len(protobufMagic):], 2)
	if !ok {
		return "", "", false
	}
	meta, ok := protoField(raw, 1)
	if !ok {
		return "", "", true
	}
	n, _ := protoField(meta, 1)
	g, _ := protoField(meta, 2)
	return string(n), string(g), true
}

// protoField is the first length-delimited field number num of a protobuf message.
func protoField(msg []byte, num protowire.Number) ([]byte, bool) {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return nil, false
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			return v, l >= 0
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return nil, false
		}
		msg = msg[l:]
	}
	return nil, false
}

func readBody(req *http.Request) ([]byte, error) {
	if req.GetBody == nil {
		return nil, errors.New("no body")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

// resourcePath is what follows the API group and version in an API path, without the
// namespace: [configmaps] for a collection, [configmaps web] for an object, more for a
// subresource; false for paths that are not resources (/version, discovery).
func resourcePath(path string) ([]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		var rest []string
		switch {
		case s == "api" && len(segs) > i+2:
			rest = segs[i+2:]
		case s == "apis" && len(segs) > i+3:
			rest = segs[i+3:]
		default:
			continue
		}
		if rest[0] == "namespaces" && len(rest) >= 3 {
			rest = rest[2:]
		}
		return rest, true
	}
	return nil, false
}

// verdict is what the live object says about a create or delete whose answer was lost.
type verdict int

const (
	// verdictResend: it did not take effect; send it again.
	verdictResend verdict = iota
	// verdictDone: it took effect; the answer is made from the live object.
	verdictDone
	// verdictUnreachable: the check itself met an API server that does not answer.
	verdictUnreachable
	// verdictUnknown: the check was answered with something else (403...): the original
	// failure stands.
	verdictUnknown
)

// createdSkew is how much earlier than our first attempt the API server's clock may date an
// object we created.
const createdSkew = time.Minute

// confirm reads the object of op: a create took effect when the object exists, written by
// our field manager, created since our first attempt; a delete when the object is gone or
// being deleted.
func (t *retryTransport) confirm(req *http.Request, op operation, firstTry time.Time) (*http.Response, verdict, failure, error) {
	get := req.Clone(req.Context())
	get.Method = http.MethodGet
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = op.object, "", ""
	get.URL = &u
	get.Body, get.GetBody, get.ContentLength = nil, nil, 0
	get.Header.Del("Content-Type")
	get.Header.Set("Accept", "application/json")
	resp, err := t.next.RoundTrip(get)
	if f := classify(resp, err); f.kind != answered {
		return resp, verdictUnreachable, f, err
	}
	if err != nil {
		return nil, verdictUnknown, failure{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, verdictUnreachable, failure{kind: maybeProcessed, outage: true, cause: causeOf(err)}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && op.kind == opDelete:
		return deletedAnswer(req), verdictDone, failure{}, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, verdictResend, failure{}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, verdictUnknown, failure{}, nil
	}
	var live struct {
		Metadata struct {
			CreationTimestamp time.Time  `json:"creationTimestamp"`
			DeletionTimestamp *time.Time `json:"deletionTimestamp"`
			ManagedFields     []struct {
				Manager string `json:"manager"`
			} `json:"managedFields"`
		} `json:"metadata"`
	}
	if json.Unmarshal(data, &live) != nil {
		return nil, verdictUnknown, failure{}, nil
	}
	if op.kind == opDelete {
		if live.Metadata.DeletionTimestamp != nil {
			// Deleted, awaiting its finalizers: what the API server answers to the delete.
			return answer(req, http.StatusOK, data), verdictDone, failure{}, nil
		}
		return nil, verdictResend, failure{}, nil
	}
	ours := false
	for _, m := range live.Metadata.ManagedFields {
		ours = ours || m.Manager == op.manager
	}
	if ours && !live.Metadata.CreationTimestamp.Before(firstTry.Add(-createdSkew).Truncate(time.Second)) {
		return answer(req, http.StatusCreated, data), verdictDone, failure{}, nil
	}
	// Someone else's object: sent again, the create meets the API server's own
	// AlreadyExists.
	return nil, verdictResend, failure{}, nil
}

// answer is an API server's answer to req made here.
func answer(req *http.Request, code int, body []byte) *http.Response {
	return &http.Response{
		Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// deletedAnswer is the API server's answer to a delete that took effect.
func deletedAnswer(req *http.Request) *http.Response {
	return answer(req, http.StatusOK, []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}`))
}

// Unreachable says err is what a client met when the API server did not answer (the
// failures this package retries): callers that keep trying on their own schedule (lease
// renewals) tell an outage from a refusal with it.
func Unreachable(err error) bool {
	var status interface{ Status() metav1.Status }
	if errors.As(err, &status) {
		s := status.Status()
		switch s.Code {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			return true
		case http.StatusInternalServerError:
			return strings.Contains(s.Message, "etcdserver: ") || strings.Contains(s.Message, "code = Unavailable")
		}
		return false
	}
	return err != nil && classify(nil, err).kind != answered
}
