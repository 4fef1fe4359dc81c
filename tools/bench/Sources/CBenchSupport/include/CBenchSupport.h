#ifndef CBENCHSUPPORT_H
#define CBENCHSUPPORT_H

/// Pins the calling thread to one CPU (Linux); returns 0, or an errno value. Swift's Glibc module
/// leaves out the GNU affinity calls.
int cbench_pin_current_thread(int cpu);

#endif
