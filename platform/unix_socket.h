// A non-blocking, close-on-exec AF_UNIX stream socket. Linux (and the BSDs) set both flags in
// socket(2) atomically; macOS has no SOCK_CLOEXEC/SOCK_NONBLOCK, so there they are set with
// fcntl right after (the daemon spawns children only from the loop thread, not in between).
#pragma once

namespace bs::platform {

// The fd, or -1 with errno set.
int unix_stream_socket();

}  // namespace bs::platform
