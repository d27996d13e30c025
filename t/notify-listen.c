/* notify-listen: a stand-in for systemd's NOTIFY_SOCKET in tests: prints each datagram. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	struct pollfd pfd;
	char buf[4096];
	int fd, secs;
	ssize_t n;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify-listen PATH SECONDS\n");
		return 2;
	}
	secs = atoi(argv[2]);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify-listen");
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, secs * 1000) > 0) {
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			break;
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
	unlink(argv[1]);
	return 0;
}
