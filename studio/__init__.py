"""The MNIST Studio page, one module per panel; nothing imports it but app.py (docs/architecture.md
names each): state, i18n (the words, from locales/) and streamlit_internals hold what the panels
share; draw, choose, cards,
inside, pictures and report are the drawing side; train, form, setup_link, watch, progress,
charts, live, outcome and runs the training side; save, library, owner and teach keep models and
a person's digits; classview, busy, classroom, classlink and classgallery are for the class.
"""
