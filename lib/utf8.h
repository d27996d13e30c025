/* utf8.h: strict UTF-8 (RFC 3629), the only text that may pass into a JSON string. */
#ifndef AKC_UTF8_H
#define AKC_UTF8_H

#include <stddef.h>

/*
 * The length (1 to 4) of the valid UTF-8 character that starts at p, with
 * left bytes available; 0 if none does: a stray continuation byte, an
 * overlong form (C0 80 for NUL), a surrogate (ED A0 80), a code point over
 * U+10FFFF, a lead byte F5-FF, or a sequence cut short. NUL is valid (1).
 */
size_t utf8_char(const unsigned char *p, size_t left);

/* The offset of the first byte that is not part of a valid character; len if all are. */
size_t utf8_check(const void *buf, size_t len);

/* Whether buf holds valid UTF-8 only. */
int utf8_valid(const void *buf, size_t len);

/*
 * Whether buf is text a JSON string carries exactly: valid UTF-8 and no
 * NUL (cJSON's strings end at the first NUL).
 */
int utf8_text(const void *buf, size_t len);

/*
 * Makes the NUL-terminated s valid UTF-8 in place, for messages that quote
 * what they were given: a character cut short at the end (by %.40s or a
 * full buffer) is cut off, any other invalid byte becomes '?'.
 */
void utf8_scrub(char *s);

#endif
