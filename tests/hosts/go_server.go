// go_server is a plain net/http server for tests: Go programs make their
// system calls without the C library, so the preloaded library must leave
// them entirely alone.
package main

import (
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Args[1]}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		srv.Close()
	}()
	srv.ListenAndServe()
}
