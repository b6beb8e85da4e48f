"""The data contracts between the boxes: raw article, DLQ record, text cleaning, dates, languages.

Pure Python: no Kafka, no search client. Everything that reads or writes a record uses these.
"""
