/* Reference for benches/compare.sh: the thinnest possible wrapper. It replaces itself
 * with the next program (argv[1]...) and does nothing else. */
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2)
        return 127;
    execv(argv[1], argv + 1);
    return 127;
}
