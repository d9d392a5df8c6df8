// Exposes Linux epoll(7) to Swift: the toolchain's Glibc module map does not include <sys/epoll.h>
// (swift-nio carries the same kind of shim, CNIOLinux). Headers only; no code of our own.
#ifndef GOSSIPREC_CEPOLLSHIM_H
#define GOSSIPREC_CEPOLLSHIM_H
#include <sys/epoll.h>
#endif
