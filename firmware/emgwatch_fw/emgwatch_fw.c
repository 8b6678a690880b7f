/*
 * emgwatch firmware for ATmega328P at 16 MHz (Arduino Uno, Nano, Pro Mini 5 V).
 *
 * Samples 1-4 analog channels (A0..A3) at a fixed rate and streams framed binary over the UART
 * (firmware/PROTOCOL.md). Why it is built this way:
 *  - Timer1 in CTC mode fires at exactly the sampling rate and its interrupt starts the first
 *    conversion with ADSC; each ADC-complete interrupt starts the next channel. No delay(), no
 *    polling: the sampling instant does not depend on what the main loop is doing. (ADC
 *    auto-trigger from the timer would also work on hardware, but simavr does not implement it.)
 *  - Completed sample blocks go into a queue of frame slots; the main loop packs, CRCs and sends
 *    them while the UART interrupt shifts bytes out. If the queue is ever full the block is
 *    dropped, its sequence number is skipped (the host sees the gap and keeps exact time) and an
 *    overrun frame reports it.
 *  - The CPU sleeps (idle mode) whenever there is nothing to do.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <stdint.h>
#include <util/crc16.h>

#include "protocol.h"

#ifndef F_CPU
#define F_CPU 16000000UL
#endif

/* ADC reference: AVcc (5 V on Uno/Nano) by default; build with -DEMGW_AREF_EXTERNAL to use the
 * voltage on the AREF pin instead (e.g. 3.3 V for a 3.3 V sensor board). */
#ifdef EMGW_AREF_EXTERNAL
#define ADMUX_REF 0
#else
#define ADMUX_REF _BV(REFS0)
#endif

#define N_SLOTS 8 /* 8 frames of buffer: 80 ms at the default 1 kHz */
#define SLOT_VALUES (EMGW_SAMPLES_PER_FRAME * EMGW_MAX_CHANNELS)
#define MAX_PACKED (((SLOT_VALUES + 3) / 4) * 5)
#define MAX_FRAME (EMGW_HEADER_SIZE + EMGW_DATA_PREFIX_SIZE + MAX_PACKED + EMGW_CRC_SIZE)
#define RX_SIZE 32 /* power of two */
#define LINE_MAX 12

/* sampling state, shared with the interrupts */
static uint16_t slot_data[N_SLOTS][SLOT_VALUES];
static uint16_t slot_seq[N_SLOTS];
static volatile uint8_t slot_head;  /* slot being filled by the ADC interrupt */
static volatile uint8_t slot_count; /* completed slots waiting to be sent */
static uint8_t slot_tail;           /* oldest completed slot (main loop only) */
static volatile uint8_t fill_pos;
static volatile uint8_t adc_channel;
static volatile uint16_t next_seq;
static volatile uint16_t dropped; /* frames dropped since the last overrun report */
static volatile uint8_t streaming;

static uint16_t rate_hz = EMGW_RATE_DEFAULT_HZ;
static volatile uint8_t n_channels = 1;
static uint8_t n_values = EMGW_SAMPLES_PER_FRAME; /* n_channels * samples per frame */

/* UART transmit: one frame in flight, shifted out by the UDRE interrupt */
static uint8_t tx_buf[MAX_FRAME];
static volatile uint8_t tx_len;
static volatile uint8_t tx_pos;

/* UART receive ring and the command line being assembled */
static volatile uint8_t rx_buf[RX_SIZE];
static volatile uint8_t rx_head;
static uint8_t rx_tail;
static char line[LINE_MAX];
static uint8_t line_len;
static uint8_t line_overflow;

static uint8_t reply_pending;
static uint8_t reply_command;
static uint8_t reply_result;

ISR(TIMER1_COMPA_vect)
{
    adc_channel = 0;
    ADMUX = ADMUX_REF;
    ADCSRA |= _BV(ADSC);
}

ISR(ADC_vect)
{
    uint16_t v = ADC; /* reads ADCL then ADCH */
    if (!streaming)
        return;
    uint8_t ch = adc_channel + 1;
    if (ch < n_channels) {
        adc_channel = ch;
        ADMUX = ADMUX_REF | ch;
        ADCSRA |= _BV(ADSC);
    }
    uint8_t pos = fill_pos;
    slot_data[slot_head][pos++] = v;
    if (pos >= n_values) {
        pos = 0;
        /* keep one slot free: the one being filled must never be a queued one */
        if (slot_count < N_SLOTS - 1) {
            slot_seq[slot_head] = next_seq;
            slot_head = (slot_head + 1) & (N_SLOTS - 1);
            slot_count++;
        } else if (dropped != 0xFFFF) {
            dropped++;
        }
        next_seq++;
    }
    fill_pos = pos;
}

ISR(USART_RX_vect)
{
    uint8_t c = UDR0;
    uint8_t next = (rx_head + 1) & (RX_SIZE - 1);
    if (next != rx_tail) {
        rx_buf[rx_head] = c;
        rx_head = next;
    }
}

ISR(USART_UDRE_vect)
{
    UDR0 = tx_buf[tx_pos++];
    if (tx_pos >= tx_len) {
        UCSR0B &= ~_BV(UDRIE0);
        tx_len = 0;
    }
}

static void uart_init(void)
{
    uint16_t ubrr = (uint16_t)(F_CPU / (16UL * EMGW_BAUDRATE) - 1); /* 3: exactly 250000 baud */
    UBRR0H = ubrr >> 8;
    UBRR0L = ubrr & 0xFF;
    UCSR0A = 0;
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8N1 */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

/* Finish a frame in tx_buf (payload already at tx_buf[7..]) and start sending it. */
static void send_frame(uint8_t type, uint16_t seq, uint8_t length)
{
    tx_buf[0] = EMGW_SYNC0;
    tx_buf[1] = EMGW_SYNC1;
    tx_buf[2] = EMGW_PROTOCOL_VERSION;
    tx_buf[3] = type;
    tx_buf[4] = seq & 0xFF;
    tx_buf[5] = seq >> 8;
    tx_buf[6] = length;
    uint8_t end = EMGW_HEADER_SIZE + length;
    uint16_t crc = 0;
    for (uint8_t i = 2; i < end; i++)
        crc = _crc_xmodem_update(crc, tx_buf[i]);
    tx_buf[end] = crc & 0xFF;
    tx_buf[end + 1] = crc >> 8;
    tx_pos = 0;
    tx_len = end + EMGW_CRC_SIZE;
    UCSR0B |= _BV(UDRIE0);
}

static void send_info(uint8_t command, uint8_t result)
{
    uint8_t *p = tx_buf + EMGW_HEADER_SIZE;
    p[0] = 'E';
    p[1] = 'M';
    p[2] = 'G';
    p[3] = 'W';
    p[4] = EMGW_FW_MAJOR;
    p[5] = EMGW_FW_MINOR;
    p[6] = rate_hz & 0xFF;
    p[7] = rate_hz >> 8;
    p[8] = n_channels;
    p[9] = EMGW_SAMPLES_PER_FRAME;
    p[10] = streaming;
    p[11] = command;
    p[12] = result;
    send_frame(EMGW_FRAME_INFO, next_seq, EMGW_INFO_SIZE);
}

static void send_overrun(void)
{
    cli();
    uint16_t d = dropped;
    dropped = 0;
    uint16_t seq = next_seq;
    sei();
    tx_buf[EMGW_HEADER_SIZE] = d & 0xFF;
    tx_buf[EMGW_HEADER_SIZE + 1] = d >> 8;
    send_frame(EMGW_FRAME_OVERRUN, seq, 2);
}

/* Pack the oldest completed slot: 4 samples -> 4 low bytes + 1 byte of 2-bit high parts. */
static void send_data(void)
{
    const uint16_t *s = slot_data[slot_tail];
    uint8_t *p = tx_buf + EMGW_HEADER_SIZE;
    uint8_t n = n_values;
    *p++ = n_channels;
    *p++ = EMGW_SAMPLES_PER_FRAME;
    for (uint8_t i = 0; i < n; i += 4) {
        uint8_t high = 0;
        for (uint8_t j = 0; j < 4; j++) {
            uint16_t v = (uint8_t)(i + j) < n ? s[i + j] : 0;
            *p++ = v & 0xFF;
            high |= (uint8_t)((v >> 8) & 0x3) << (2 * j);
        }
        *p++ = high;
    }
    uint16_t seq = slot_seq[slot_tail];
    slot_tail = (slot_tail + 1) & (N_SLOTS - 1);
    cli();
    slot_count--;
    sei();
    send_frame(EMGW_FRAME_DATA, seq, (uint8_t)(p - tx_buf - EMGW_HEADER_SIZE));
}

static uint8_t settings_ok(uint32_t rate, uint32_t ch)
{
    if (ch < 1 || ch > EMGW_MAX_CHANNELS)
        return 0;
    if (rate < EMGW_RATE_MIN_HZ || rate > EMGW_RATE_MAX_HZ || EMGW_TIMER_CLOCK_HZ % rate)
        return 0;
    return rate * ch <= EMGW_MAX_CONVERSIONS_PER_S;
}

static void stop_stream(void)
{
    cli();
    TIMSK1 = 0;
    streaming = 0;
    slot_count = 0;
    sei();
}

static void start_stream(void)
{
    cli();
    slot_head = 0;
    slot_tail = 0;
    slot_count = 0;
    fill_pos = 0;
    next_seq = 0;
    dropped = 0;
    n_values = n_channels * EMGW_SAMPLES_PER_FRAME;
    DIDR0 = (uint8_t)((1 << n_channels) - 1); /* analog pins: no digital input buffer noise */
    /* ADC clock 125 kHz (full 10-bit accuracy, 104 us per conversion) while the conversions fit,
     * 250 kHz (52 us) above 4000 conversions/s */
    uint8_t adps = (uint32_t)rate_hz * n_channels <= 4000 ? (_BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0))
                                                          : (_BV(ADPS2) | _BV(ADPS1));
    ADCSRA = _BV(ADEN) | _BV(ADIE) | adps;
    TCCR1A = 0;
    TCCR1B = _BV(WGM12) | _BV(CS11); /* CTC, clock / 8 = 2 MHz */
    OCR1A = (uint16_t)(EMGW_TIMER_CLOCK_HZ / rate_hz - 1);
    TCNT1 = 0;
    TIFR1 = _BV(OCF1A);
    TIMSK1 = _BV(OCIE1A);
    streaming = 1;
    sei();
}

static uint8_t execute(char cmd, const char *arg, uint8_t arg_len)
{
    uint32_t value = 0;
    for (uint8_t i = 0; i < arg_len; i++) {
        if (arg[i] < '0' || arg[i] > '9' || value > 65535)
            return EMGW_RESULT_BAD_ARGUMENT;
        value = value * 10 + (uint8_t)(arg[i] - '0');
    }
    switch (cmd) {
    case EMGW_CMD_IDENTIFY:
        return EMGW_RESULT_OK;
    case EMGW_CMD_START:
        if (!streaming)
            start_stream();
        return EMGW_RESULT_OK;
    case EMGW_CMD_STOP:
        stop_stream();
        return EMGW_RESULT_OK;
    case EMGW_CMD_RATE:
    case EMGW_CMD_CHANNELS: {
        if (streaming)
            return EMGW_RESULT_BUSY;
        uint32_t rate = cmd == EMGW_CMD_RATE ? value : rate_hz;
        uint32_t ch = cmd == EMGW_CMD_CHANNELS ? value : n_channels;
        if (!arg_len || !settings_ok(rate, ch))
            return EMGW_RESULT_BAD_ARGUMENT;
        rate_hz = (uint16_t)rate;
        n_channels = (uint8_t)ch;
        return EMGW_RESULT_OK;
    }
    default:
        return EMGW_RESULT_UNKNOWN_COMMAND;
    }
}

/* Take received bytes until one command line is complete; queue its reply. */
static void poll_commands(void)
{
    while (!reply_pending && rx_tail != rx_head) {
        char c = (char)rx_buf[rx_tail];
        rx_tail = (rx_tail + 1) & (RX_SIZE - 1);
        if (c == '\n' || c == '\r') {
            if (line_len && !line_overflow) {
                reply_command = (uint8_t)line[0];
                reply_result = execute(line[0], line + 1, line_len - 1);
                reply_pending = 1;
            }
            line_len = 0;
            line_overflow = 0;
        } else if (c != ' ') {
            if (line_len < LINE_MAX)
                line[line_len++] = c;
            else
                line_overflow = 1;
        }
    }
}

int main(void)
{
    uart_init();
    set_sleep_mode(SLEEP_MODE_IDLE);
    sei();
    reply_pending = 1; /* announce ourselves after reset */
    reply_command = 0;
    reply_result = EMGW_RESULT_OK;

    for (;;) {
        poll_commands();
        if (!tx_len) {
            if (reply_pending) {
                send_info(reply_command, reply_result);
                reply_pending = 0;
            } else if (dropped) {
                send_overrun();
            } else if (slot_count) {
                send_data();
            }
        }
        cli();
        uint8_t idle = (rx_tail == rx_head || reply_pending) && (tx_len || (!reply_pending && !dropped && !slot_count));
        if (idle) {
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
