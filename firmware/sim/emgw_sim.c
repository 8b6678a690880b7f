/*
 * emgw_sim: run the real emgwatch firmware (.elf) in simavr, with ADC input from a file and the
 * UART connected to a pseudo-terminal (or stdout), so the host code can be tested end to end
 * without a board.
 *
 *   emgw_sim FIRMWARE.elf [--samples FILE] [--file-channels N] [--pty LINK | --stdout]
 *            [--seconds S] [--send TEXT] [--adc-trace FILE] [--wait-s S]
 *
 * --samples FILE     raw little-endian uint16 ADC counts, rows of N channels (--file-channels);
 *                    each conversion of channel k takes the next value of column k (wrapping
 *                    around at the end). Without it, channel k reads a ramp.
 * --pty LINK         create a pty, symlink its slave to LINK; the simulation starts when the
 *                    reader writes its first byte (pyserial flushes input on open) and the
 *                    harness exits only after the reader closed the port (closing the master
 *                    would discard bytes not yet read).
 * --stdout           write the UART output to stdout (with --send for the commands).
 * --seconds S        stop after S simulated seconds (default: run until the reader closes).
 * --adc-trace FILE   write the CPU cycle (uint64 LE) at which each channel-0 conversion started.
 *
 * simavr 1.6 pitfalls handled here: the logger goes to stderr, the UART's STDIO and POLL_SLEEP
 * flags are cleared (binary output, no usleep), avr->sleep is a no-op so simulated time runs as
 * fast as the host allows, AVcc/AREF are set in millivolts, and the ADC value for a conversion
 * is supplied when the firmware starts it (ADC_IRQ_OUT_TRIGGER).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_adc.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>

#define VREF_MV 5000
#define MAX_CH 8

static uint16_t *samples;
static size_t n_rows;
static int file_channels = 1;
static size_t cursor[MAX_CH];
static uint32_t conversions[MAX_CH];
static FILE *adc_trace;
static avr_t *avr;
static avr_irq_t *adc_irq_base;

static int out_fd = -1;
static int reader_gone;
static uint8_t out_buf[8192];
static size_t out_len;

static void logger(avr_t *a, const int level, const char *fmt, va_list ap)
{
    (void)a;
    if (level <= LOG_WARNING)
        vfprintf(stderr, fmt, ap);
}

static void no_sleep(avr_t *a, avr_cycle_count_t how_long)
{
    (void)a;
    (void)how_long;
}

static void flush_out(void)
{
    size_t done = 0;
    while (done < out_len && !reader_gone) {
        ssize_t w = write(out_fd, out_buf + done, out_len - done);
        if (w > 0) {
            done += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {.fd = out_fd, .events = POLLOUT};
            if (poll(&p, 1, 1000) > 0 && (p.revents & (POLLHUP | POLLERR)))
                reader_gone = 1;
        } else {
            reader_gone = 1; /* EIO: the reader closed the pty */
        }
    }
    out_len = 0;
}

static void uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    out_buf[out_len++] = (uint8_t)value;
    if (out_len == sizeof(out_buf))
        flush_out();
}

/* The firmware started a conversion: put the next value of that channel on its pin (mV chosen
 * so that simavr's (mV * 1023) / VREF gives back exactly the count from the file). */
static void adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    union {
        avr_adc_mux_t mux;
        uint32_t v;
    } e = {.v = value};
    if (e.mux.kind != ADC_MUX_SINGLE || e.mux.src >= MAX_CH)
        return;
    unsigned ch = e.mux.src;
    uint32_t count;
    if (samples && (int)ch < file_channels) {
        count = samples[cursor[ch] * (size_t)file_channels + ch];
        cursor[ch] = (cursor[ch] + 1) % n_rows;
    } else {
        count = (conversions[ch] + 100 * ch) % 1024;
    }
    conversions[ch]++;
    if (ch == 0 && adc_trace) {
        uint64_t c = avr->cycle;
        fwrite(&c, sizeof c, 1, adc_trace);
    }
    uint32_t mv = (count * VREF_MV + 1022) / 1023;
    avr_raise_irq(adc_irq_base + ADC_IRQ_ADC0 + ch, mv);
}

/* Bytes from the host wait here until the firmware has enabled its receiver (simavr drops
 * bytes that arrive before), then go to the UART a few at a time (its input FIFO is small). */
static uint8_t pending_in[4096];
static size_t pending_len;

static void feed_uart(const uint8_t *data, ssize_t n)
{
    for (ssize_t i = 0; i < n && pending_len < sizeof pending_in; i++)
        pending_in[pending_len++] = data[i];
}

static void deliver_uart_input(void)
{
    if (!pending_len || avr->cycle < 16000 * 2) /* 2 ms: the firmware's init is long done */
        return;
    avr_irq_t *in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    size_t n = pending_len < 16 ? pending_len : 16;
    for (size_t i = 0; i < n; i++)
        avr_raise_irq(in, pending_in[i]);
    memmove(pending_in, pending_in + n, pending_len - n);
    pending_len -= n;
}

static int load_samples(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t row = sizeof(uint16_t) * (size_t)file_channels;
    n_rows = (size_t)size / row;
    if (!n_rows) {
        fprintf(stderr, "%s: no complete row of %d channels\n", path, file_channels);
        fclose(f);
        return -1;
    }
    samples = malloc(n_rows * row);
    if (fread(samples, row, n_rows, f) != n_rows) {
        perror(path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int open_pty(const char *link, int *slave_fd)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        perror("posix_openpt");
        return -1;
    }
    const char *name = ptsname(m);
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s < 0) {
        perror(name);
        return -1;
    }
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    unlink(link);
    if (symlink(name, link)) {
        perror(link);
        return -1;
    }
    *slave_fd = s;
    return m;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *elf = NULL, *samples_path = NULL, *link = NULL, *send = NULL, *trace = NULL;
    double seconds = 0, wait_s = 60;
    int to_stdout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--samples") && v) samples_path = argv[++i];
        else if (!strcmp(a, "--file-channels") && v) file_channels = atoi(argv[++i]);
        else if (!strcmp(a, "--pty") && v) link = argv[++i];
        else if (!strcmp(a, "--stdout")) to_stdout = 1;
        else if (!strcmp(a, "--seconds") && v) seconds = atof(argv[++i]);
        else if (!strcmp(a, "--wait-s") && v) wait_s = atof(argv[++i]);
        else if (!strcmp(a, "--send") && v) send = argv[++i];
        else if (!strcmp(a, "--adc-trace") && v) trace = argv[++i];
        else if (a[0] != '-' && !elf) elf = a;
        else {
            fprintf(stderr, "emgw_sim: unknown or incomplete argument '%s'\n", a);
            return 2;
        }
    }
    if (!elf || (!link && !to_stdout) || file_channels < 1 || file_channels > MAX_CH) {
        fprintf(stderr, "usage: emgw_sim FIRMWARE.elf [--samples FILE --file-channels N] "
                        "(--pty LINK | --stdout) [--seconds S] [--send TEXT] [--adc-trace FILE]\n");
        return 2;
    }
    if (samples_path && load_samples(samples_path))
        return 1;
    if (trace && !(adc_trace = fopen(trace, "wb"))) {
        perror(trace);
        return 1;
    }

    avr_global_logger_set(logger);
    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(elf, &fw)) {
        fprintf(stderr, "emgw_sim: cannot read firmware %s\n", elf);
        return 1;
    }
    strcpy(fw.mmcu, "atmega328p");
    fw.frequency = 16000000;
    avr = avr_make_mcu_by_name(fw.mmcu);
    if (!avr) {
        fprintf(stderr, "emgw_sim: simavr has no %s\n", fw.mmcu);
        return 1;
    }
    avr_init(avr);
    avr_load_firmware(avr, &fw);
    avr->log = LOG_WARNING;
    avr->sleep = no_sleep;
    avr->vcc = VREF_MV;
    avr->avcc = VREF_MV;
    avr->aref = VREF_MV;

    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), uart_out, NULL);
    adc_irq_base = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
    avr_irq_register_notify(adc_irq_base + ADC_IRQ_OUT_TRIGGER, adc_trigger, NULL);

    int master = -1;
    uint8_t in[256];
    if (to_stdout) {
        out_fd = STDOUT_FILENO;
        if (send)
            feed_uart((const uint8_t *)send, (ssize_t)strlen(send));
    } else {
        int slave = -1;
        master = open_pty(link, &slave);
        if (master < 0)
            return 1;
        fprintf(stderr, "emgw_sim: waiting for a reader on %s\n", link);
        /* our own slave fd stays open until the reader has written, so no POLLHUP storm */
        struct pollfd p = {.fd = master, .events = POLLIN};
        int r = poll(&p, 1, (int)(wait_s * 1000));
        if (r <= 0) {
            fprintf(stderr, "emgw_sim: no reader within %.0f s\n", wait_s);
            unlink(link);
            return 1;
        }
        ssize_t n = read(master, in, sizeof in);
        if (n > 0)
            feed_uart(in, n);
        close(slave);
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
        out_fd = master;
    }

    avr_cycle_count_t end = seconds > 0 ? (avr_cycle_count_t)(seconds * fw.frequency) : 0;
    avr_cycle_count_t next_poll = 0;
    const avr_cycle_count_t poll_every = fw.frequency / 1000; /* 1 ms of simulated time */
    double t_start = wall_s();
    int state = cpu_Running;
    while (!reader_gone && state != cpu_Done && state != cpu_Crashed) {
        state = avr_run(avr);
        if (avr->cycle < next_poll)
            continue;
        next_poll = avr->cycle + poll_every;
        if (end && avr->cycle >= end)
            break;
        if (master >= 0) {
            ssize_t n = read(master, in, sizeof in);
            if (n > 0)
                feed_uart(in, n);
            else if (n < 0 && errno == EIO)
                reader_gone = 1;
        }
        deliver_uart_input();
        if (out_len)
            flush_out();
    }
    flush_out();
    double sim_s = (double)avr->cycle / fw.frequency;
    double wall = wall_s() - t_start;
    fprintf(stderr, "emgw_sim: %.3f simulated s in %.3f wall s (%.1fx), %u ch0 conversions, state %d%s\n",
            sim_s, wall, wall > 0 ? sim_s / wall : 0.0, conversions[0], state,
            reader_gone ? ", reader closed" : "");
    if (adc_trace)
        fclose(adc_trace);
    if (master >= 0) {
        /* let the reader take what is still buffered; it closes the port when done */
        double deadline = wall_s() + wait_s;
        while (!reader_gone && wall_s() < deadline) {
            struct pollfd p = {.fd = master, .events = POLLIN};
            if (poll(&p, 1, 100) > 0) {
                if (p.revents & POLLHUP)
                    break;
                if (read(master, in, sizeof in) < 0 && errno == EIO)
                    break;
            }
        }
        close(master);
        unlink(link);
    }
    return state == cpu_Crashed ? 3 : 0;
}
