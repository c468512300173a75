// zlib (Debian: zlib1g-dev), for gzip answers.
#include <zlib.h>
