/** nslab's directory on each host (tmpfs: it goes with a reboot, as the kernel objects it describes do): records, locks, logs, ssh state. */
export const RUN_DIR = "/run/nslab";
