/* rc_probe.c -- drives weir_rc (drivers/redis/rcluster.c) from a test script.
 *
 *   rc_probe slot KEY...            print each key's cluster slot
 *   rc_probe run HOST PORT [PASS]   read commands on stdin, one per line:
 *                                   "ROUTEKEY ARG..." ("-": keyless), or
 *                                   "STATS"; print one line per answer
 *
 * Answers: +status, -error, :integer, $string, (nil), *N then the elements
 * space-separated, or "! message" when weir_rc_command failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/rcluster.h"

static void
print_reply(const redisReply *r)
{
	switch (r->type) {
	case REDIS_REPLY_STATUS:  printf("+%s", r->str); break;
	case REDIS_REPLY_ERROR:   printf("-%s", r->str); break;
	case REDIS_REPLY_INTEGER: printf(":%lld", r->integer); break;
	case REDIS_REPLY_STRING:  printf("$%s", r->str); break;
	case REDIS_REPLY_NIL:     printf("(nil)"); break;
	case REDIS_REPLY_ARRAY:
		printf("*%zu", r->elements);
		for (size_t i = 0; i < r->elements; i++) {
			putchar(' ');
			print_reply(r->element[i]);
		}
		break;
	default: printf("?%d", r->type);
	}
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "slot")) {
		for (int i = 2; i < argc; i++)
			printf("%u\n", weir_rc_slot(argv[i], strlen(argv[i])));
		return 0;
	}
	if (argc < 4 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: rc_probe slot KEY... | rc_probe run HOST PORT [PASSWORD]\n");
		return 2;
	}
	struct weir_rc_endpoint ep = { .host = argv[2], .port = atoi(argv[3]),
				       .password = argc > 4 ? argv[4] : NULL };
	struct weir_rc *rc = weir_rc_new(&ep, 1000);
	if (!rc)
		return 1;
	char line[4096];
	while (fgets(line, sizeof(line), stdin)) {
		const char *av[64];
		size_t al[64];
		int n = 0;
		for (char *save, *t = strtok_r(line, " \t\r\n", &save); t && n < 64;
		     t = strtok_r(NULL, " \t\r\n", &save)) {
			av[n] = t;
			al[n] = strlen(t);
			n++;
		}
		if (!n)
			continue;
		if (!strcmp(av[0], "STATS")) {
			const struct weir_rc_stats *s = weir_rc_stats(rc);
			printf("stats redirects=%llu rediscoveries=%llu connects=%llu cluster=%d\n",
			       (unsigned long long)s->redirects, (unsigned long long)s->rediscoveries,
			       (unsigned long long)s->connects, weir_rc_is_cluster(rc));
		} else if (n >= 2) {
			redisReply *r = weir_rc_commandargv(rc, strcmp(av[0], "-") ? av[0] : NULL,
							    n - 1, av + 1, al + 1);
			if (r) {
				print_reply(r);
				putchar('\n');
				freeReplyObject(r);
			} else {
				printf("! %s\n", weir_rc_error(rc));
			}
		}
		fflush(stdout);
	}
	weir_rc_free(rc);
	return 0;
}
