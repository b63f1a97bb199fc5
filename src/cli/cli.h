/* The `lrlab` command's subcommands. */
#ifndef LR_CLI_CLI_H
#define LR_CLI_CLI_H

#include "io/results_file.h"
#include "run/run.h"

int lr_cmd_run(int argc, char **argv);
int lr_cmd_report(int argc, char **argv);
int lr_cmd_plot(int argc, char **argv);
int lr_cmd_list(int argc, char **argv);
int lr_cmd_export(int argc, char **argv);
int lr_cmd_compare(int argc, char **argv);
int lr_cmd_merge(int argc, char **argv);
int lr_cmd_train(int argc, char **argv);

/* The experiment that wrote a results file (opened from path), from the experiment table;
 * NULL with a message naming the file when the file names none or one this lrlab lacks. */
const lr_experiment *lr_cli_experiment(const char *path, const lr_results_file *rf);

/* The arguments of a command that takes nfixed file-like arguments and no options
 * (argv[0] is the command's name): -h/--help prints help and gives 0; an unknown option,
 * an extra or a missing argument prints a message and help to stderr and gives 2; else
 * fixed[] receives the arguments and the result is -1 (go on). */
int lr_cli_file_args(const char *cmd, int argc, char **argv, int nfixed, const char *help, char **fixed);

/* The command line as typed ("lrlab" and argv[0 .. argc - 1] joined by blanks), for the
 * results' provenance: malloc'd, NULL when out of memory. */
char *lr_cli_command_line(int argc, char **argv);

/* Print "lrlab: message" for the last error and return the exit status 1 (2 for usage). */
int lr_cli_fail(void);

#endif
