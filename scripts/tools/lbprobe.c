/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lbprobe: the backends and clients of the load-balancing tests and bench.
 * A compiled loop, because a connection-rate figure measured from a script
 * would mostly measure the script.
 *
 *   lbprobe serve-tcp PORT NAME      accept; send "NAME\n"; echo until EOF; close
 *   lbprobe serve-udp PORT NAME      reply "NAME\n" + the datagram, to its sender
 *   lbprobe tcp IP PORT COUNT        COUNT connections, one after the other
 *   lbprobe udp IP PORT COUNT        COUNT datagrams from one unconnected socket
 *   lbprobe rate IP PORT VIPS SECS   connect and close (set-up only), for SECS
 *                                    seconds, cycling over VIPS consecutive
 *                                    addresses from IP
 *
 * Clients print one JSON object: replies per backend name, errors by errno
 * name, and how often the peer (getpeername) or the reply's source address
 * was not IP:PORT, which socket load balancing must hide. Servers run until
 * killed. Everything is bounded: 2 s socket timeouts, COUNT or SECS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64

static struct { char name[64]; long count; } names[MAX_NAMES];
static int n_names;
static struct { const char *name; long count; } errs[32];
static int n_errs;
static long peer_mismatch, from_mismatch;

static void die(const char *what)
{
	fprintf(stderr, "lbprobe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void tally_name(const char *buf, ssize_t len)
{
	char name[64];
	ssize_t i = 0;
	while (i < len && i < 63 && buf[i] != '\n') {
		name[i] = buf[i];
		i++;
	}
	name[i] = 0;
	for (int k = 0; k < n_names; k++)
		if (!strcmp(names[k].name, name)) {
			names[k].count++;
			return;
		}
	if (n_names == MAX_NAMES) return;
	strcpy(names[n_names].name, name);
	names[n_names++].count = 1;
}

static void tally_error(int err)
{
	const char *name = strerrorname_np(err);
	if (!name) name = "EUNKNOWN";
	for (int k = 0; k < n_errs; k++)
		if (!strcmp(errs[k].name, name)) {
			errs[k].count++;
			return;
		}
	if (n_errs == 32) return;
	errs[n_errs].name = name;
	errs[n_errs++].count = 1;
}

static void print_report(long attempts, double seconds)
{
	printf("{\"attempts\":%ld,\"seconds\":%.3f,\"backends\":{", attempts, seconds);
	for (int k = 0; k < n_names; k++) printf("%s\"%s\":%ld", k ? "," : "", names[k].name, names[k].count);
	printf("},\"errors\":{");
	for (int k = 0; k < n_errs; k++) printf("%s\"%s\":%ld", k ? "," : "", errs[k].name, errs[k].count);
	printf("},\"peerMismatch\":%ld,\"fromMismatch\":%ld}\n", peer_mismatch, from_mismatch);
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "lbprobe: '%s' is not an IPv4 address\n", ip);
		exit(2);
	}
	return a;
}

static void timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int listener(int type, int port)
{
	int fd = socket(AF_INET, type, 0), one = 1;
	if (fd < 0) die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) die("bind");
	if (type == SOCK_STREAM && listen(fd, 4096)) die("listen");
	return fd;
}

static void serve_tcp(int port, const char *name)
{
	int lfd = listener(SOCK_STREAM, port);
	char line[80], buf[65536];
	int len = snprintf(line, sizeof(line), "%s\n", name);
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) continue;
		timeouts(fd);
		if (write(fd, line, len) == len) {
			ssize_t n;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				if (write(fd, buf, n) != n) break;
		}
		close(fd);
	}
}

static void serve_udp(int port, const char *name)
{
	int fd = listener(SOCK_DGRAM, port);
	char buf[65536];
	int head = snprintf(buf, 80, "%s\n", name);
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf + head, sizeof(buf) - head, 0, (struct sockaddr *)&from, &fl);
		if (n >= 0) sendto(fd, buf, head + n, 0, (struct sockaddr *)&from, fl);
	}
}

static int same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

/*
 * One connection: connect, then (unless only the set-up is measured) check
 * the peer and read the backend's name; close. Returns 0 or an errno.
 */
static int one_tcp(const struct sockaddr_in *to, int full)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) die("socket");
	timeouts(fd);
	int err = 0;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to))) {
		err = errno;
	} else if (full) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &pl) || !same_addr(&peer, to)) peer_mismatch++;
		char buf[80];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) tally_name(buf, n);
		else err = n < 0 ? errno : ECONNRESET;
	}
	/* linger 0: the client's side of each connection goes away at once, so
	 * a rate loop does not fill the port range with TIME_WAIT */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return err;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void client_tcp(const char *ip, int port, long count)
{
	struct sockaddr_in to = addr_of(ip, port);
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		int err = one_tcp(&to, 1);
		if (err) tally_error(err);
	}
	print_report(count, now_s() - t0);
}

static void client_udp(const char *ip, int port, long count)
{
	struct sockaddr_in to = addr_of(ip, port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) die("socket");
	timeouts(fd);
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		char buf[256];
		int len = snprintf(buf, sizeof(buf), "probe %ld", i);
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != len) {
			tally_error(errno);
			continue;
		}
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			tally_error(errno);
			continue;
		}
		if (!same_addr(&from, &to)) from_mismatch++;
		tally_name(buf, n);
	}
	print_report(count, now_s() - t0);
}

static void client_rate(const char *ip, int port, long vips, double seconds)
{
	struct sockaddr_in to = addr_of(ip, port);
	uint32_t base = ntohl(to.sin_addr.s_addr);
	long attempts = 0;
	double t0 = now_s(), end = t0 + seconds;
	while (now_s() < end) {
		for (int k = 0; k < 64; k++, attempts++) {
			to.sin_addr.s_addr = htonl(base + (uint32_t)(attempts % vips));
			int err = one_tcp(&to, 0);
			if (err) tally_error(err);
		}
	}
	print_report(attempts, now_s() - t0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "serve-tcp")) serve_tcp(atoi(argv[2]), argv[3]);
	else if (argc == 4 && !strcmp(argv[1], "serve-udp")) serve_udp(atoi(argv[2]), argv[3]);
	else if (argc == 5 && !strcmp(argv[1], "tcp")) client_tcp(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (argc == 5 && !strcmp(argv[1], "udp")) client_udp(argv[2], atoi(argv[3]), atol(argv[4]));
	else if (argc == 6 && !strcmp(argv[1], "rate")) client_rate(argv[2], atoi(argv[3]), atol(argv[4]), atof(argv[5]));
	else {
		fprintf(stderr, "usage: lbprobe serve-tcp PORT NAME | serve-udp PORT NAME | tcp IP PORT COUNT | udp IP PORT COUNT | rate IP PORT VIPS SECONDS\n");
		return 2;
	}
	return 0;
}
