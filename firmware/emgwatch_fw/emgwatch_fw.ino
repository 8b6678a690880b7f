/*
 * emgwatch firmware - Arduino IDE wrapper.
 *
 * Open this file in the Arduino IDE (File > Open), choose your board (Arduino Uno, Nano or
 * Pro Mini 5 V/16 MHz, i.e. an ATmega328P at 16 MHz) and the port, and press Upload.
 *
 * The firmware itself is the plain C file next to this one (emgwatch_fw.c, compiled by the IDE
 * together with this sketch). It has its own main(), so the Arduino core's setup()/loop(),
 * Serial and millis() are not used and not linked: the timer, ADC and UART are programmed
 * directly so that sampling is exactly periodic. There is deliberately no code in this file.
 *
 * Do not open the Serial Monitor while emgwatch runs: the board speaks binary frames at
 * 250000 baud (firmware/PROTOCOL.md). Wiring and avrdude flashing: firmware/README.md.
 */
