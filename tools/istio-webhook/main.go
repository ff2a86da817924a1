// Command istio-webhook serves Istio's own configuration validation as a
// Kubernetes validating admission webhook (AdmissionReview admission.k8s.io/v1,
// v1beta1 too) for the knmesh test control plane.
//
// It is not a re-implementation: the HTTP handler is istiod's
// (istio.io/istio/pkg/webhooks/validation/server, mounted on /validate and
// /validate/ exactly as pilot/pkg/bootstrap/validation.go does), with the same
// schema set istiod passes (collections.PilotGatewayAPI()), so every kind is
// checked by its schema's ValidateConfig from istio.io/istio/pkg/config/validation.
//
// Flags:
//
//	--listen=127.0.0.1:9443          address to serve HTTPS on (loopback only by default)
//	--tls-cert-file / --tls-key-file  serving certificate and key (PEM)
//	--cert-dir=DIR                    or: generate a self-signed serving certificate for
//	                                  the listen host into DIR/tls.crt + DIR/tls.key
//	                                  (DIR/tls.crt is then also the caBundle to register)
//	--domain-suffix=cluster.local     istiod's --domain
//
// GET /readyz answers 200 "ok" once the listener is up. When serving starts it
// prints one line "istio-webhook ready https://HOST:PORT/validate" on stdout.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/webhooks/validation/server"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9443", "host:port to serve HTTPS on")
	certFile := flag.String("tls-cert-file", "", "serving certificate (PEM)")
	keyFile := flag.String("tls-key-file", "", "serving key (PEM)")
	certDir := flag.String("cert-dir", "", "generate a self-signed serving certificate into this folder (tls.crt, tls.key)")
	domainSuffix := flag.String("domain-suffix", "cluster.local", "DNS domain suffix, as istiod's --domain")
	flag.Parse()

	if err := run(*listen, *certFile, *keyFile, *certDir, *domainSuffix); err != nil {
		fmt.Fprintf(os.Stderr, "istio-webhook: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, certFile, keyFile, certDir, domainSuffix string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", listen, err)
	}
	switch {
	case certFile != "" && keyFile != "":
	case certFile == "" && keyFile == "" && certDir != "":
		certFile, keyFile = filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key")
		if err := selfSigned(host, certFile, keyFile); err != nil {
			return fmt.Errorf("generating serving certificate: %v", err)
		}
	default:
		return errors.New("give --tls-cert-file and --tls-key-file, or --cert-dir")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("loading serving certificate: %v", err)
	}

	mux := http.NewServeMux()
	// istiod's own validation handler and schema set (pilot/pkg/bootstrap/validation.go).
	if _, err := server.New(server.Options{
		Schemas:      collections.PilotGatewayAPI(),
		DomainSuffix: domainSuffix,
		Mux:          mux,
	}); err != nil {
		return err
	}
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		_ = srv.Close()
	}()
	fmt.Printf("istio-webhook ready https://%s/validate\n", ln.Addr().String())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// selfSigned writes a self-signed ECDSA P-256 certificate (valid 10 years, its
// own CA) for host (an IP address or a DNS name) plus localhost.
func selfSigned(host, certFile, keyFile string) error {
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "knmesh-istio-webhook"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.Equal(net.ParseIP("127.0.0.1")) {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if ip == nil && host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
