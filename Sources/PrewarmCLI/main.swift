print("prewarm: skeleton")
