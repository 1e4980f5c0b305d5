// The shell loop that closes every descriptor a step would inherit above fd 3 (fd 3 may carry the
// seccomp program): node (libuv) passes on every descriptor it inherited without O_CLOEXEC.
//
// Why `[ -L "$f" ]` and no `2>/dev/null` on the loop: the glob lists the descriptor the shell had
// open to read /proc/self/fd, closed again when the loop runs; closing it would print "Bad file
// descriptor", which is why the loop's stderr used to go to /dev/null. But bash keeps the real stderr
// of a redirected loop on a saved descriptor (fd 10 and up) while the loop runs, and the loop closed
// that one too: stderr then stayed /dev/null for the step, and every build step's stderr (npm's,
// apt's errors) was lost. Closing only what is still open needs no redirection at all.
export const CLOSE_INHERITED_FDS = 'for f in /proc/self/fd/*; do n=${f##*/}; if [ "$n" -gt 3 ] && [ -L "$f" ]; then eval "exec $n>&-"; fi; done; ';
