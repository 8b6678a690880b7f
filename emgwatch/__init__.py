"""emgwatch: notice involuntary muscle contractions in surface EMG, log them, alert over MQTT.

emgwatch is a monitoring aid, not a medical device: it does not diagnose.
"""

__version__ = "0.1.0"
