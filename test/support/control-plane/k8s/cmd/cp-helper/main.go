// Command cp-helper serves the tests' control plane (test/support/control-plane.ts).
//
// "cp-helper exec PPID -- PROGRAM ARGS..." asks the kernel to SIGKILL it when its parent
// (the test process, pid PPID) dies, however it dies, then execs PROGRAM (the death signal
// survives exec), so no control-plane process outlives the tests.
//
// "cp-helper pki ..." writes the certificates and keys of the control plane into a
// directory, with Go's crypto only:
//
//	ca.crt, ca.key                 self-signed CA (ECDSA P-256), 10 days
//	apiserver.crt, apiserver.key   kube-apiserver serving cert: 127.0.0.1, ::1, localhost,
//	                               kubernetes.default.svc[.cluster.local], the service IP
//	sa.key, sa.pub                 service-account token signing key pair (RSA 2048)
//	<name>.crt, <name>.key         a client cert for each -client NAME=CN[/O[,O...]] flag
//
// Usage: cp-helper pki -dir DIR -service-ip 10.96.0.1 -client admin=kubernetes-admin/system:masters ...
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type clients []string

func (c *clients) String() string     { return strings.Join(*c, " ") }
func (c *clients) Set(v string) error { *c = append(*c, v); return nil }

// The death signal is an attribute of the thread that sets it, and exec keeps only the
// thread that calls it: both must happen on the same (main) thread.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: cp-helper exec PPID -- PROGRAM ARGS... | cp-helper pki -dir DIR ..."))
	}
	switch os.Args[1] {
	case "exec":
		execWithParentDeathSignal(os.Args[2:])
	case "pki":
		pki(os.Args[2:])
	default:
		fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}

// execWithParentDeathSignal: PR_SET_PDEATHSIG(SIGKILL), then exec. The signal is kept
// across execve (it is cleared only for set-user-ID programs).
func execWithParentDeathSignal(args []string) {
	if len(args) < 3 || args[1] != "--" {
		fail(fmt.Errorf("usage: cp-helper exec PPID -- PROGRAM ARGS..."))
	}
	ppid, err := strconv.Atoi(args[0])
	fail(err)
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		fail(fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", errno))
	}
	// the parent may have died before prctl: then we were re-parented already
	if os.Getppid() != ppid {
		fail(fmt.Errorf("parent %d is gone", ppid))
	}
	prog, err := exec.LookPath(args[2])
	fail(err)
	fail(syscall.Exec(prog, args[2:], os.Environ()))
}

func pki(args []string) {
	fs := flag.NewFlagSet("pki", flag.ExitOnError)
	dir := fs.String("dir", "", "output directory")
	serviceIP := fs.String("service-ip", "10.96.0.1", "the kubernetes Service's cluster IP")
	var cl clients
	fs.Var(&cl, "client", "FILE=CN[/O1,O2]: a client certificate (repeatable)")
	fail(fs.Parse(args))
	if *dir == "" {
		fail(fmt.Errorf("-dir is required"))
	}
	fail(os.MkdirAll(*dir, 0o700))

	now := time.Now().Add(-time.Hour)
	notAfter := now.Add(10 * 24 * time.Hour)
	caKey := ecKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "cdk8s-flink-test-ca"},
		NotBefore:             now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	fail(err)
	ca, err := x509.ParseCertificate(caDER)
	fail(err)
	write(*dir, "ca", caDER, caKey)

	svc := net.ParseIP(*serviceIP)
	if svc == nil {
		fail(fmt.Errorf("bad -service-ip %q", *serviceIP))
	}
	srvKey := ecKey()
	srv := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, svc},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	}
	der, err := x509.CreateCertificate(rand.Reader, srv, ca, srvKey.Public(), caKey)
	fail(err)
	write(*dir, "apiserver", der, srvKey)

	for _, c := range cl {
		file, subject, ok := strings.Cut(c, "=")
		if !ok || file == "" {
			fail(fmt.Errorf("bad -client %q (want FILE=CN[/O1,O2])", c))
		}
		// names like system:kube-scheduler hold colons: the organizations follow a slash
		cn, orgs, _ := strings.Cut(subject, "/")
		name := pkix.Name{CommonName: cn}
		if orgs != "" {
			name.Organization = strings.Split(orgs, ",")
		}
		key := ecKey()
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      name,
			NotBefore:    now,
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		fail(err)
		write(*dir, file, der, key)
	}

	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	fail(err)
	writeKey(filepath.Join(*dir, "sa.key"), sa)
	pub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	fail(err)
	fail(os.WriteFile(filepath.Join(*dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600))
}

func ecKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fail(err)
	return k
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	fail(err)
	return n.Add(n, big.NewInt(1))
}

func write(dir, name string, der []byte, key crypto.Signer) {
	fail(os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	writeKey(filepath.Join(dir, name+".key"), key)
}

func writeKey(file string, key crypto.Signer) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	fail(err)
	fail(os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cp-helper:", err)
		os.Exit(1)
	}
}
