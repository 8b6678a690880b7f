/*
 * emgwatch board protocol: the numbers of firmware/PROTOCOL.md, board side.
 * emgwatch/protocol.py holds the same numbers for the host; tests/test_firmware_sim.py checks
 * that both agree, so change them together (and bump EMGW_PROTOCOL_VERSION if the wire changes).
 */
#ifndef EMGW_PROTOCOL_H
#define EMGW_PROTOCOL_H

#define EMGW_FW_MAJOR 1
#define EMGW_FW_MINOR 0

/* frames: sync(2) version(1) type(1) seq(2, LE) length(1) payload(length) crc16(2, LE) */
#define EMGW_SYNC0 0xA5
#define EMGW_SYNC1 0x5A
#define EMGW_PROTOCOL_VERSION 1
#define EMGW_HEADER_SIZE 7
#define EMGW_CRC_SIZE 2
#define EMGW_FRAME_DATA 0x01
#define EMGW_FRAME_INFO 0x02
#define EMGW_FRAME_OVERRUN 0x03

/* data payload: n_channels(1) n_samples(1) then 10-bit samples packed 4 in 5 bytes */
#define EMGW_DATA_PREFIX_SIZE 2
#define EMGW_MAX_CHANNELS 4
#define EMGW_SAMPLES_PER_FRAME 10

/* info payload: "EMGW" fw_major fw_minor rate(2, LE) channels spf streaming command result */
#define EMGW_INFO_SIZE 13

#define EMGW_RESULT_OK 0
#define EMGW_RESULT_UNKNOWN_COMMAND 1
#define EMGW_RESULT_BAD_ARGUMENT 2
#define EMGW_RESULT_BUSY 3

/* commands: one ASCII letter, optional decimal argument, terminated by '\n' (or '\r') */
#define EMGW_CMD_IDENTIFY 'i'
#define EMGW_CMD_START 's'
#define EMGW_CMD_STOP 'x'
#define EMGW_CMD_RATE 'r'
#define EMGW_CMD_CHANNELS 'c'

#ifndef EMGW_BAUDRATE /* overridden only by the overrun test, which needs a link too slow */
#define EMGW_BAUDRATE 250000UL
#endif
#define EMGW_RATE_DEFAULT_HZ 1000
#define EMGW_TIMER_CLOCK_HZ 2000000UL /* F_CPU / 8: the rate must divide it exactly */
#define EMGW_RATE_MIN_HZ 50
#define EMGW_RATE_MAX_HZ 4000
#define EMGW_MAX_CONVERSIONS_PER_S 8000UL /* rate x channels */

#endif
